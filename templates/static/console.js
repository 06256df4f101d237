/* The console's progressive enhancements. Every page works without this file:
 * - times are shown in the browser's local time (the page itself shows UTC);
 * - jobs that are Queued or Processing update live, polling /jobs/status;
 *   when one finishes, the parts of the page marked data-swap are fetched again;
 * - a CSV file can be dropped anywhere on the new-job page;
 * - a start time typed in the new-job form is read in the browser's time zone.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var pollTimer = null;

  function formatLocal(date) {
    return date.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  }

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local === "1") { return; }
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      el.title = el.textContent.trim();
      el.textContent = formatLocal(date);
      el.dataset.local = "1";
    });
  }

  function setTime(slot, ms) {
    if (ms === undefined || ms === null || slot.querySelector("time")) { return; }
    var date = new Date(ms);
    var time = document.createElement("time");
    time.setAttribute("datetime", date.toISOString());
    time.textContent = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    slot.textContent = "";
    slot.appendChild(time);
    localTimes(slot);
  }

  function number(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function update(container, job) {
    var counts = ["totalRecords", "processedRecords", "succeededRecords", "failedRecords"];
    counts.forEach(function (field) {
      container.querySelectorAll("[data-field='" + field + "']").forEach(function (el) {
        el.textContent = number(job[field]);
      });
    });
    container.querySelectorAll("[data-field='jobState']").forEach(function (el) {
      el.className = "badge state-" + job.jobState;
      el.textContent = job.jobStateName;
    });
    container.querySelectorAll("progress[data-field='progress']").forEach(function (el) {
      el.max = Math.max(job.totalRecords || 0, 1);
      el.value = job.processedRecords || 0;
      el.textContent = Math.floor(100 * el.value / el.max) + "%";
    });
    container.querySelectorAll("[data-field='startDateTime']").forEach(function (el) {
      setTime(el, job.startDateTime);
    });
    container.querySelectorAll("[data-field='endDateTime']").forEach(function (el) {
      setTime(el, job.endDateTime);
    });
  }

  function refreshRegions() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-swap][id]").forEach(function (region) {
          var replacement = fresh.getElementById(region.id);
          if (replacement) { region.replaceWith(document.importNode(replacement, true)); }
        });
        localTimes(document);
      });
  }

  function followed() {
    var ids = [];
    document.querySelectorAll("[data-job-id][data-active='1']").forEach(function (el) {
      if (ids.indexOf(el.dataset.jobId) < 0) { ids.push(el.dataset.jobId); }
    });
    return ids;
  }

  function schedule() {
    window.clearTimeout(pollTimer);
    if (followed().length) { pollTimer = window.setTimeout(poll, POLL_MS); }
  }

  function poll() {
    var ids = followed();
    if (!ids.length) { return; }
    var url = document.body.dataset.statusUrl || "/jobs/status";
    fetch(url + "?ids=" + ids.join(","), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { return null; }
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { return "stop"; }
        var finished = false;
        var seen = {};
        data.bulkJobs.forEach(function (job) {
          seen[String(job.id)] = true;
          document.querySelectorAll("[data-job-id='" + job.id + "']").forEach(function (el) {
            update(el, job);
            if (!job.active && el.dataset.active === "1") {
              el.dataset.active = "0";
              finished = true;
            }
          });
        });
        ids.forEach(function (id) {  // deleted meanwhile: stop following it
          if (!seen[id]) {
            document.querySelectorAll("[data-job-id='" + id + "']").forEach(function (el) {
              el.dataset.active = "0";
            });
          }
        });
        return finished ? refreshRegions() : null;
      })
      .then(function (result) { if (result !== "stop") { schedule(); } },
            function () { pollTimer = window.setTimeout(poll, POLL_MS * 3); });
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
  }

  function dropZone() {
    var input = document.getElementById("file");
    var zone = document.querySelector("[data-dropzone]");
    if (!input || !zone) { return; }
    var chosen = document.getElementById("file-chosen");
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });

    function show() {
      var file = input.files && input.files[0];
      chosen.textContent = file
        ? "Chosen: " + file.name + " (" + number(file.size) + " bytes)"
        : "";
    }
    input.addEventListener("change", show);
    document.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", function (event) {
      if (!event.relatedTarget) { zone.classList.remove("dragging"); }
    });
    document.addEventListener("drop", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      zone.classList.remove("dragging");
      if (event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    show();
  }

  // A date and time typed in the browser's zone goes to the service as ms since the epoch.
  function localTimeInputs() {
    document.querySelectorAll("input[data-local-time]").forEach(function (input) {
      var target = input.form.elements[input.getAttribute("data-local-time")];
      input.form.addEventListener("submit", function () {
        var ms = input.value ? new Date(input.value).getTime() : NaN;
        target.value = isNaN(ms) ? "" : String(ms);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    dropZone();
    localTimeInputs();
    schedule();
  });
}());
