/* needlewise — every page: mark that scripts run (styles may then show the richer
   version of a control), and copy buttons (data-copy="ID of the field to copy"). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    var done = function () {
      var status = document.getElementById(button.getAttribute("data-copy") + "-status");
      if (status) { status.textContent = button.getAttribute("data-copied") || "Copied"; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
}());
/* print buttons (data-print): scripts may not be inline, so the button is wired here */
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) { event.preventDefault(); window.print(); }
});
