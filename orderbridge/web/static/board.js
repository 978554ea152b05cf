// The board refreshes itself every 30 seconds; not while someone is writing a note or choosing a
// snooze in it, so a refresh never throws away what they typed.
document.addEventListener("htmx:beforeRequest", function (event) {
  var board = event.detail.elt;
  if (!board || board.id !== "board") {
    return;
  }
  var typing = board.contains(document.activeElement) && document.activeElement.tagName !== "A";
  var notes = Array.prototype.some.call(board.querySelectorAll("input[name=note]"), function (input) {
    return input.value !== "";
  });
  if (typing || notes) {
    event.preventDefault();
  }
});
