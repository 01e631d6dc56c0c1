/* needlewise — the patient's intake questions a few per screen (form[data-steps]).
   Without this script every question is on one page and the form works the same:
   the server checks the answers. Here: follow-up questions (data-follows, data-opens-on)
   show only when the answer they follow opens them; "Next" checks that the questions on
   the screen are answered; the error summary's links open the screen of their question. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-steps]");
  if (!form) { return; }
  var per = parseInt(form.getAttribute("data-steps"), 10) || 3;
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
  var status = document.getElementById("step-status");
  var back = form.querySelector("[data-step=back]");
  var next = form.querySelector("[data-step=next]");
  var submit = form.querySelector("[data-submit]");
  var screens = [];
  form.noValidate = true; /* checked here, screen by screen (hidden fields cannot show a message) */
  var current = 0;

  questions.forEach(function (q) {
    var last = screens[screens.length - 1];
    if (q.hasAttribute("data-follows") && last) { last.push(q); return; }
    var counted = last ? last.filter(function (x) { return !x.hasAttribute("data-follows"); }).length : per;
    if (counted >= per) { screens.push([q]); } else { last.push(q); }
  });

  function answer(linkId) {
    var boxes = form.querySelectorAll("input[type=radio]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].name === linkId && boxes[i].checked) { return boxes[i].value; }
    }
    return null;
  }
  function asked(q) {
    var follows = q.getAttribute("data-follows");
    if (!follows) { return true; }
    return q.getAttribute("data-opens-on").split(" ").indexOf(answer(follows)) !== -1;
  }
  function screenOf(q) {
    for (var i = 0; i < screens.length; i++) { if (screens[i].indexOf(q) !== -1) { return i; } }
    return 0;
  }
  function number(q) { return q.id.replace(/^q-/, ""); }

  function show(index, focus) {
    current = Math.max(0, Math.min(index, screens.length - 1));
    questions.forEach(function (q) {
      var on = screenOf(q) === current && asked(q);
      q.hidden = !on;
      Array.prototype.forEach.call(q.querySelectorAll("input"), function (input) {
        input.disabled = !asked(q);
      });
    });
    back.hidden = current === 0;
    next.hidden = current === screens.length - 1;
    submit.hidden = !next.hidden;
    var shown = screens[current].filter(asked);
    status.textContent = form.getAttribute("data-progress")
      .replace("{first}", number(shown[0]))
      .replace("{last}", number(shown[shown.length - 1]))
      .replace("{total}", number(questions[questions.length - 1]));
    if (focus) { status.focus(); }
  }

  function unanswered(q) {
    return q.hasAttribute("data-required") && asked(q) && answer(q.getAttribute("data-link-id")) === null;
  }
  function mark(q) {
    var id = q.id + "-error";
    if (!document.getElementById(id)) {
      var p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      p.textContent = form.getAttribute("data-missing");
      q.insertBefore(p, q.querySelector(".answers"));
      var described = q.getAttribute("aria-describedby");
      q.setAttribute("aria-describedby", described ? id + " " + described : id);
      q.classList.add("has-error");
    }
  }

  next.addEventListener("click", function () {
    var missing = screens[current].filter(unanswered);
    if (missing.length) {
      missing.forEach(mark);
      missing[0].querySelector("input").focus();
      return;
    }
    show(current + 1, true);
  });
  back.addEventListener("click", function () { show(current - 1, true); });
  form.addEventListener("change", function (event) {
    var q = event.target.closest("fieldset.question");
    if (q && !unanswered(q)) {
      var error = document.getElementById(q.id + "-error");
      if (error) { error.remove(); q.classList.remove("has-error"); }
    }
    show(current, false);
  });
  form.addEventListener("submit", function (event) {
    var missing = questions.filter(unanswered);
    if (missing.length) {
      event.preventDefault();
      missing.forEach(mark);
      show(screenOf(missing[0]), false);
      missing[0].querySelector("input").focus();
    }
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#q-']") : null;
    if (!link) { return; }
    var q = document.getElementById(link.getAttribute("href").slice(1));
    if (!q) { return; }
    event.preventDefault();
    show(screenOf(q), false);
    q.querySelector("input").focus();
  });

  var firstError = form.querySelector("fieldset.has-error");
  show(firstError ? screenOf(firstError) : 0, false);
}());
