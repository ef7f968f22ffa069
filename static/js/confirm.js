// Deletes in the back office ask first (templates/macros/confirm.html, issue 20). Without this
// file each delete form has a box "Yes, delete ..." that the server requires. With it, the box
// is hidden and the button opens the form's <dialog>: "Delete ...? This cannot be undone."
// Its Delete ticks the box and sends the form; Cancel (or Escape) closes it and puts focus back
// on the button. Browsers without <dialog> keep the box.
(function () {
  "use strict";
  if (window.portalConfirm) { return; }
  window.portalConfirm = true;

  function enhance(form) {
    var box = form.querySelector("[data-confirm-box]");
    var check = box && box.querySelector("input[name=confirm]");
    var opener = form.querySelector("[data-confirm-open]");
    var dialog = form.querySelector("dialog[data-confirm-dialog]");
    var yes = dialog && dialog.querySelector("[data-confirm-yes]");
    var no = dialog && dialog.querySelector("[data-confirm-no]");
    if (!check || !opener || !dialog || !yes || !no || typeof dialog.showModal !== "function") {
      return;
    }
    // A box the server sent back with its error stays, so the message beside it is seen.
    if (!box.classList.contains("usa-form-group--error")) { box.hidden = true; }
    var sending = false;

    form.addEventListener("submit", function (event) {
      if (sending || (box.hidden === false && check.checked)) { return; }
      event.preventDefault();
      check.checked = false;
      dialog.showModal();
      no.focus(); // the choice that changes nothing
    });

    no.addEventListener("click", function () { dialog.close("cancel"); });

    yes.addEventListener("click", function () {
      sending = true;
      check.checked = true;
      yes.disabled = true;
      dialog.close("delete");
      if (form.requestSubmit) { form.requestSubmit(opener); } else { form.submit(); }
    });

    // Escape fires "cancel" and closes the dialog; every way of closing lands here.
    dialog.addEventListener("close", function () {
      if (!sending) { opener.focus(); }
    });

    // Back to this page from the next one (the browser's page cache): ask again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) { return; }
      sending = false;
      yes.disabled = false;
      check.checked = false;
    });
  }

  document.querySelectorAll("form[data-confirm]").forEach(enhance);
})();
