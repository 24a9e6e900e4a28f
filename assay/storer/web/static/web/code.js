// The submitted code arrives after the submission page (htmx): once it is there, go to the
// line the address names (#f1-L12), as the browser would have on a page that had it at once.
var codeLineShown = false;
document.addEventListener("htmx:afterSettle", function () {
  if (codeLineShown || !location.hash) return;
  var line = document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (line && line.closest("#code")) {
    codeLineShown = true;
    line.scrollIntoView({ block: "center" });
  }
});
