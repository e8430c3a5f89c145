/* Buttons of the demo host page: they call the widget's public API, as a website would. */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var bind = function (id, action) { document.getElementById(id).addEventListener("click", action); };
  bind("demo-open", function () { window.Threadline.open(); });
  bind("demo-close", function () { window.Threadline.close(); });
  bind("demo-de", function () { window.Threadline.setLocale("de"); });
  bind("demo-en", function () { window.Threadline.setLocale("en"); });
});
