// Member imports in the console: sends the chosen CSV file to the server as it is (with the
// session's CSRF token) and opens the import's page; on that page, while the import runs,
// moves the progress bar and shows the result when it is done.
"use strict";

(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  const upload = document.getElementById("upload");
  if (upload) {
    const program = document.body.dataset.program;
    const error = document.getElementById("upload-error");
    const state = document.getElementById("upload-state");
    upload.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = document.getElementById("file").files[0];
      error.hidden = true;
      if (!file) {
        error.textContent = "Choose the file first.";
        error.hidden = false;
        return;
      }
      state.textContent = "Uploading " + file.name + "…";
      try {
        const r = await fetch("/console/programs/" + program + "/imports?name=" + encodeURIComponent(file.name), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "text/csv", "X-CSRF-Token": csrf },
          body: file,
        });
        const answer = await r.json().catch(() => null);
        if (!r.ok) {
          const why = answer && answer.error ? answer.error.message
            : r.status === 413 ? "The file is larger than 10 MB. Split it and import the parts one after another."
            : "The upload failed (" + r.status + "). Try again.";
          throw new Error(why);
        }
        window.location.assign(answer.url);
      } catch (e) {
        state.textContent = "";
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  }

  const running = document.body.dataset.status === "running";
  const id = document.body.dataset.import;
  if (running && id) {
    const bar = document.getElementById("progress");
    const words = document.getElementById("progress-words");
    const poll = async () => {
      try {
        const r = await fetch("/console/imports/" + id + "/progress", { credentials: "same-origin" });
        const p = await r.json();
        bar.max = p.good;
        bar.value = p.done;
        words.textContent = p.done + " of " + p.good + " imported. You can leave this page; the import goes on.";
        if (p.status === "done") {
          window.location.reload();
          return;
        }
      } catch (e) {
        words.textContent = "Waiting for the server…";
      }
      setTimeout(poll, 700);
    };
    setTimeout(poll, 300);
  }
})();
