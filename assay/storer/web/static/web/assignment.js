// the submit form: show the chosen files, and take files dropped on the drop zone
(function () {
  if (!document.getElementById("dropzone")) return;
  var zone = document.getElementById("dropzone"), input = document.getElementById("id_files"), chosen = document.getElementById("chosen");
  function show() { chosen.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", "); }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (e) { zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (e) { zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.remove("over"); }); });
  zone.addEventListener("drop", function (ev) { input.files = ev.dataTransfer.files; show(); });
})();
