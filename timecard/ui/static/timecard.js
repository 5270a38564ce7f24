// Login/Logout reports: the conveniences that need a script. Pages work without it.
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

// Presets lock the custom range: start and end count only with "custom". Locked, they show the
// preset's own dates in the chosen zone (asked from the server, which computes them as the run
// will), so a person sees what "yesterday" means before generating.
async function lockCustomRange(select) {
  const form = select.form;
  const custom = select.value === "custom";
  for (const input of form.querySelectorAll("[data-custom-range]")) input.disabled = !custom;
  if (custom) return;
  const zone = form.elements.timezone.value;
  const query = new URLSearchParams({ preset: select.value, timezone: zone });
  try {
    const response = await fetch(`${select.dataset.rangeLink}?${query}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const dates = await response.json();
    if (select.value !== query.get("preset") || form.elements.timezone.value !== zone) return;
    form.elements.start.value = dates.start;
    form.elements.end.value = dates.end;
  } catch {
    // Offline or refused: the fields keep their last dates; the run computes its own.
  }
}
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-preset]")) lockCustomRange(event.target);
  if (event.target.matches("input[data-zone]")) {
    const zones = [...document.getElementById(event.target.getAttribute("list")).options].map((o) => o.value);
    const known = zones.includes(event.target.value.trim());
    event.target.setCustomValidity(known ? "" : "Choose a time zone from the list, such as Asia/Seoul or America/New_York.");
    if (known) lockCustomRange(event.target.form.querySelector("select[data-preset]"));
  }
});

// Filter pickers: a value is added to its box, one a line. Search and matching of a typed
// value ignore letter case, and a value known in the data is written as the data spells it.
function knownValues(input) {
  return [...document.getElementById(input.getAttribute("list")).options].map((o) => o.value);
}
function pick(input, anyValue) {
  const typed = input.value.trim();
  if (!typed) return;
  const known = knownValues(input);
  const value = known.find((v) => v.toLowerCase() === typed.toLowerCase());
  if (value === undefined && !anyValue) return;
  const box = input.form.elements[input.dataset.pickInto];
  const lines = box.value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!lines.includes(value ?? typed)) lines.push(value ?? typed);
  box.value = lines.join("\n");
  input.value = "";
  const status = document.getElementById(`status-${input.dataset.pickInto}`);
  status.textContent = value === undefined && known.length
    ? `"${typed}" is not one of the ${known.length} values in the data; it is checked when you generate.`
    : "";
  status.classList.toggle("warn", value === undefined && known.length > 0);
  document.getElementById("pending-error").hidden = true;
}
// A click on a suggestion (Chromium: insertReplacementText) or a change adds a known value;
// Enter adds what is typed, known or not (it is never dropped). Typing alone adds nothing, so
// "b" is not taken while the person means "bob".
document.addEventListener("input", (event) => {
  if (event.target.matches("input[data-pick-into]") && event.inputType === "insertReplacementText") {
    pick(event.target, false);
  }
});
document.addEventListener("change", (event) => {
  if (event.target.matches("input[data-pick-into]")) pick(event.target, false);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.matches("input[data-pick-into]")) {
    event.preventDefault(); // not a submit: the form is not finished
    pick(event.target, true);
  }
});
// Text left in a picker (typed, not added) stops the submit with a message: never lost.
document.addEventListener("submit", (event) => {
  const left = [...event.target.querySelectorAll("input[data-pick-into]")].filter((i) => i.value.trim());
  if (!left.length) return;
  event.preventDefault();
  const message = document.getElementById("pending-error");
  message.textContent = left
    .map((i) => `${i.dataset.label}: "${i.value.trim()}" is typed but not added. Press Enter in its box to add it, pick it from the list, or clear the box.`)
    .join(" ");
  message.hidden = false;
  left[0].focus();
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
