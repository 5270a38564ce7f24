// The run page: ask for the progress block every few seconds, show it, and open the report as
// soon as the run has succeeded. Without this script the page reloads itself (<noscript>).
"use strict";

(() => {
  const block = document.getElementById("run-progress");
  if (!block) return;
  const seconds = Number(block.dataset.pollSeconds) || 1;
  const finished = () => {
    const done = block.querySelector("[data-report]");
    if (done) {
      window.location.replace(done.dataset.report);
      return true;
    }
    return block.querySelector("[data-final]") !== null;
  };
  const poll = async () => {
    try {
      const response = await fetch(block.dataset.poll, { cache: "no-store" });
      if (response.ok) block.innerHTML = await response.text();
    } catch {
      // The server may be restarting: keep asking.
    }
    if (!finished()) setTimeout(poll, seconds * 1000);
  };
  if (!finished()) setTimeout(poll, seconds * 1000);
})();
