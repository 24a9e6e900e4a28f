// The deep linking answer goes back to the LMS by itself; the button stays for browsers
// without script.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
});
