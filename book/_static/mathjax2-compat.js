// MathJax 2's typeset queue on MathJax 3, for the one caller the site has: the widget manager
// (@jupyter-widgets/html-manager) typesets widget labels with MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]).
// MathJax 3 has no Hub; this maps that call to MathJax.typesetPromise. Loaded (deferred) after MathJax 3.
(function () {
  "use strict";
  var mathjax = window.MathJax;
  if (!mathjax || !mathjax.startup || mathjax.Hub) {
    return; // no MathJax 3 on this page, or a real MathJax 2
  }
  mathjax.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset") {
          var elements = job[2] ? [job[2]] : undefined;
          mathjax.startup.promise = mathjax.startup.promise.then(function () {
            return mathjax.typesetPromise(elements);
          });
        }
      });
    },
  };
})();
