// Login/Logout reports: the two conveniences that need a script. Pages work without it.
"use strict";

// "Copy link": the Clipboard API where the page may use it, else select the text and copy.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById("copy-status");
  const isField = "value" in field; // the share link's input, or a <pre> of text
  try {
    await navigator.clipboard.writeText(isField ? field.value : field.textContent);
  } catch {
    if (isField) field.select();
    else window.getSelection().selectAllChildren(field);
    document.execCommand("copy");
  }
  if (status) status.textContent = isField ? "Link copied." : "Copied.";
});

// Rows per page: show the new page size at once.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

// Presets lock the custom range: start and end count only with "custom".
function lockCustomRange(select) {
  for (const input of select.form.querySelectorAll("[data-custom-range]")) {
    input.disabled = select.value !== "custom";
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-preset]")) lockCustomRange(event.target);
});

// Filter pickers: a value chosen from the known values is added to its box, one a line.
function pick(input) {
  const known = [...document.getElementById(input.getAttribute("list")).options].map((o) => o.value);
  if (!known.includes(input.value)) return;
  const box = input.form.elements[input.dataset.pickInto];
  const lines = box.value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!lines.includes(input.value)) lines.push(input.value);
  box.value = lines.join("\n");
  input.value = "";
}
// A click on a suggestion (Chromium: insertReplacementText), a change, or Enter adds the value;
// typing alone does not, so "b" is not taken while the person means "bob".
document.addEventListener("input", (event) => {
  if (event.target.matches("input[data-pick-into]") && event.inputType === "insertReplacementText") {
    pick(event.target);
  }
});
document.addEventListener("change", (event) => {
  if (event.target.matches("input[data-pick-into]")) pick(event.target);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.matches("input[data-pick-into]")) {
    event.preventDefault(); // not a submit: the form is not finished
    pick(event.target);
  }
});

// Columns that can be hidden, remembered in this browser.
const HIDDEN_KEY = "timecard.hiddenColumns";
function hiddenColumns(table) {
  const stored = localStorage.getItem(HIDDEN_KEY);
  return stored === null ? table.dataset.defaultHidden.split(" ").filter(Boolean) : JSON.parse(stored);
}
function showColumns(table, hidden) {
  let style = document.getElementById("hidden-columns");
  if (!style) {
    style = document.createElement("style");
    style.id = "hidden-columns";
    document.head.append(style);
  }
  style.textContent = hidden.map((key) => `#report [data-col="${CSS.escape(key)}"] { display: none; }`).join("\n");
  for (const box of document.querySelectorAll("[data-column-toggle]")) {
    box.checked = !hidden.includes(box.dataset.columnToggle);
  }
}
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-column-toggle]")) return;
  const table = document.getElementById("report");
  const hidden = new Set(hiddenColumns(table));
  if (event.target.checked) hidden.delete(event.target.dataset.columnToggle);
  else hidden.add(event.target.dataset.columnToggle);
  localStorage.setItem(HIDDEN_KEY, JSON.stringify([...hidden]));
  showColumns(table, [...hidden]);
});

document.addEventListener("DOMContentLoaded", () => {
  const preset = document.querySelector("select[data-preset]");
  if (preset) lockCustomRange(preset);
  const table = document.getElementById("report");
  if (table) showColumns(table, hiddenColumns(table));
});
