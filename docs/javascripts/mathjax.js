// MathJax 3 for pymdownx.arithmatex (generic: true): typeset only the elements that
// arithmatex marks, \( ... \) inline and \[ ... \] displayed. The MathJax files are copied
// into the built site from the django-static-mathjax package (docs/_hooks.py), so the math
// renders offline.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Material swaps the page without a reload when instant navigation is on: typeset again.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
