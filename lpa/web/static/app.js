// lpa web: the little the pages do in the browser. Text is written with textContent only.
"use strict";

// A download: show its progress; reload when it asks a question, is answered (in another tab too) or ends
// (the server renders those).
function followJob(section) {
  const shown = section.dataset.state + "/" + section.dataset.question;
  const poll = function () {
    fetch("/download/status", {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (!job || job.state + "/" + (job.question || "") !== shown) {
          window.location.reload();
          return;
        }
        document.getElementById("job-step").textContent = job.step;
        const bar = document.getElementById("job-progress");
        bar.max = job.total || 1;
        bar.value = job.done;
        document.getElementById("job-count").textContent = job.total ? job.done + " / " + job.total : "";
        setTimeout(poll, 400);
      })
      .catch(function () { setTimeout(poll, 2000); });
  };
  setTimeout(poll, 400);
}

// A QR code image dropped on the page or pasted from the clipboard goes into the file field and is sent.
function acceptImages(form, input, zone) {
  const send = function (files) {
    if (!files || !files.length || !files[0].type.startsWith("image/")) {
      return;
    }
    const transfer = new DataTransfer();
    transfer.items.add(files[0]);
    input.files = transfer.files;
    form.requestSubmit();
  };
  zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files);
  });
  document.addEventListener("paste", function (event) {
    if (event.clipboardData && event.clipboardData.files.length) {
      event.preventDefault();
      send(event.clipboardData.files);
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  const job = document.getElementById("job");
  if (job && (job.dataset.state === "running" || job.dataset.state === "question")) {
    followJob(job);
  }
  if (document.getElementById("busy")) {
    setTimeout(function () { window.location.reload(); }, 1000);
  }
  const form = document.getElementById("download-form");
  if (form) {
    acceptImages(form, document.getElementById("qr"), document.getElementById("drop"));
  }
});
