/* needlewise — the body chart of the session note. The list of muscles (a checkbox, a
   side and a needle count per muscle) is the form; this script lets a click on a muscle
   of the front or back figure tick the same checkbox and set its side:
   - a muscle not picked: picked on the side clicked;
   - picked on the other side: both sides;
   - picked on both sides: only the other side stays;
   - picked on the side clicked: not picked any more.
   The figures show what the list holds (class "picked"), whichever was used. It also
   sends the browser's time zone with the form, so "When" is read in local time. */
(function () {
  "use strict";
  var form = document.querySelector("form.session-note");
  if (!form) { return; }
  var offset = form.querySelector("[data-tz-offset]");
  if (offset) { offset.value = String(-new Date().getTimezoneOffset()); }

  function row(muscle) {
    return form.querySelector('tr[data-muscle-row="' + muscle + '"]');
  }
  function boxOf(muscle) {
    var r = row(muscle);
    return r ? r.querySelector('input[type="checkbox"]') : null;
  }
  function sideOf(muscle) {
    var r = row(muscle);
    return r ? r.querySelector("select") : null;
  }
  function covers(side, spotSide) {
    return side === spotSide || side === "bilateral" || side === "midline";
  }
  function paint() {
    var spots = document.querySelectorAll(".hotspot");
    for (var i = 0; i < spots.length; i++) {
      var spot = spots[i];
      var muscle = spot.getAttribute("data-muscle");
      var box = boxOf(muscle);
      var side = sideOf(muscle);
      var on = box && box.checked && side && covers(side.value, spot.getAttribute("data-side"));
      spot.classList.toggle("picked", !!on);
    }
  }
  function changed(element) {
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var spot = event.target.closest ? event.target.closest(".hotspot") : null;
    if (!spot) { return; }
    var muscle = spot.getAttribute("data-muscle");
    var clicked = spot.getAttribute("data-side");
    var other = clicked === "left" ? "right" : "left";
    var box = boxOf(muscle);
    var side = sideOf(muscle);
    if (!box || !side) { return; }
    if (!box.checked) {
      box.checked = true;
      side.value = clicked;
    } else if (side.value === other) {
      side.value = "bilateral";
    } else if (side.value === "bilateral") {
      side.value = other;
    } else {
      box.checked = false;
    }
    var region = row(muscle).closest("details");
    if (region) { region.open = true; }
    paint();
    changed(box);
  });
  form.addEventListener("change", paint);
  paint();
}());
