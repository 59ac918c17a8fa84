// 兜底: behaviour that may not live inline (the Content-Security-Policy forbids inline scripts).
// A button or form with data-confirm asks before submitting.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
