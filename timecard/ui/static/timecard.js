// Login/Logout reports: the two conveniences that need a script. Pages work without it.
"use strict";

// "Copy link": the Clipboard API where the page may use it, else select the text and copy.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
    document.execCommand("copy");
  }
  if (status) status.textContent = "Link copied.";
});

// Rows per page: show the new page size at once.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
