// the submit form's language choice (an assignment that takes several languages): preselect the
// language the chosen files' extensions tell (data-guess: extension -> language, as the server
// decides it), and say so; a choice the student made by hand stays theirs
(function () {
  var select = document.getElementById("id_language"), input = document.getElementById("id_files");
  if (!select || !input) return;
  var byExtension = JSON.parse(select.getAttribute("data-guess") || "{}"), said = document.getElementById("language-guess");
  var chosenByHand = false;
  select.addEventListener("change", function () { chosenByHand = select.value !== ""; });
  function extension(name) { var i = name.lastIndexOf("."); return i < 0 ? "" : (name.slice(i) === ".C" ? ".C" : name.slice(i).toLowerCase()); }
  function guess() {
    if (chosenByHand) return;
    var names = Array.prototype.map.call(input.files, function (f) { return f.name; }), found = [];
    names.forEach(function (n) { var lang = byExtension[extension(n)]; if (lang && found.indexOf(lang) < 0) found.push(lang); });
    if (found.length === 2 && found.indexOf("c") >= 0 && found.indexOf("cpp") >= 0) found = ["cpp"];  // as the server: C with C++ is C++
    if (found.length === 1) {
      select.value = found[0];
      said.textContent = "Language guessed from " + names.join(", ") + ": " + select.options[select.selectedIndex].text + ".";
    } else {
      select.value = "";
      said.textContent = !names.length ? "" : found.length ? "Your files are in several languages: choose one." : "The file extensions do not tell the language: choose one.";
    }
  }
  input.addEventListener("change", guess);
  var zone = document.getElementById("dropzone");
  if (zone) zone.addEventListener("drop", function () { setTimeout(guess, 0); });
})();
