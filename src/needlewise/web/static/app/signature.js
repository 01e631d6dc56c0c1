/* needlewise — the drawn signature of the consent form (vendored signature_pad: touch,
   pen and mouse). Each stroke puts the drawing, a PNG data URL, in the hidden field
   "signature" that the form posts; "Clear" empties both. A signature sent back with a
   form shown again (a wrong answer) is drawn again. */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var field = document.getElementById("signature");
  if (!canvas || !field || typeof window.SignaturePad !== "function") { return; }
  var status = document.getElementById("signature-status");
  var pad = new window.SignaturePad(canvas, { penColor: "#111111", backgroundColor: "rgba(255,255,255,0)" });

  function size() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    var strokes = pad.toData();
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (strokes.length) { pad.fromData(strokes); }
  }
  function say(which) { if (status) { status.textContent = status.getAttribute(which) || ""; } }

  size();
  if (field.value.indexOf("data:image/png;base64,") === 0) {
    pad.fromDataURL(field.value, { width: canvas.offsetWidth, height: canvas.offsetHeight });
  }
  window.addEventListener("resize", function () {
    if (!pad.isEmpty()) { size(); field.value = pad.toDataURL("image/png"); } else { size(); }
  });
  pad.addEventListener("endStroke", function () {
    field.value = pad.toDataURL("image/png");
    say("data-drawn");
  });
  /* for anyone who cannot draw (keyboard, switch or screen-reader users): the typed
     name, written in the box, is the signature image */
  var typed = document.getElementById("signature-typed");
  var nameField = document.getElementById("typed_name");
  if (typed && nameField) {
    typed.addEventListener("click", function () {
      var name = nameField.value.trim();
      if (!name) { say("data-no-name"); nameField.focus(); return; }
      pad.clear();
      var context = canvas.getContext("2d");
      var width = canvas.offsetWidth;
      var height = canvas.offsetHeight;
      var fontSize = Math.min(40, height * 0.45);
      context.save();
      context.fillStyle = "#111111";
      context.font = "italic " + fontSize + "px serif";
      while (context.measureText(name).width > width - 24 && fontSize > 12) {
        fontSize -= 2;
        context.font = "italic " + fontSize + "px serif";
      }
      context.textBaseline = "middle";
      context.fillText(name, 12, height / 2);
      context.restore();
      field.value = canvas.toDataURL("image/png");
      say("data-typed");
    });
  }
  document.getElementById("signature-clear").addEventListener("click", function () {
    pad.clear();
    field.value = "";
    say("data-cleared");
  });
}());
