// The staff's comment form on the submission page: choosing a line number in the code fills in
// the form's file and line (files are numbered as the code view numbers them: #f2-L12) and
// takes the staff to the comment's text.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("#code a.ln");
  var form = document.getElementById("comment-form");
  if (!link || !form) return;
  var place = /^#f(\d+)-L(\d+)$/.exec(link.getAttribute("href"));
  if (!place) return;
  var file = form.querySelector("select[name=file]"), line = form.querySelector("input[name=line]");
  if (file && Number(place[1]) < file.options.length) file.selectedIndex = Number(place[1]);
  if (line) line.value = place[2];
  var text = form.querySelector("textarea[name=text]");
  if (text) setTimeout(function () { text.focus(); }, 0);  // once the link has done its part
});
