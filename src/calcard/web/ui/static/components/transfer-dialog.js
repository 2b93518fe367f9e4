// Import and export: upload an .ics or .vcf file as a background job and follow its
// progress (the server stores it, so any server process answers the poll), or
// download any calendar or address book (streamed by /api/export).
import { t } from "../lib/i18n.js";
import { closeButton, makeDialog } from "./dialog.js";
import { toast } from "./notify.js";
import { api, csrfToken, query } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { number } from "../lib/format.js";

const POLL_MS = 500;
const KINDS = { ics: "calendars", vcf: "addressbooks", vcard: "addressbooks" };
let dialog;
let parts;
let collections = { calendars: [], addressbooks: [] };
let preferred = "";
let imported = () => {};
let running = false;

function field(text, control) {
  return h("label", {}, text, control);
}

function build() {
  parts = {
    file: h("input", {
      type: "file",
      id: "import-file",
      required: true,
      accept: ".ics,.vcf,.vcard,text/calendar,text/vcard",
    }),
    target: h("select", { id: "import-target", required: true }),
    start: h("button", { type: "submit", id: "import-start", className: "primary" }, t("Import")),
    bar: h("progress", { id: "import-bar", max: 100, value: 0 }),
    status: h("p", { id: "import-status", role: "status" }),
    summary: h("p", { id: "import-summary" }),
    skipped: h("ul", { id: "import-skipped", className: "skipped" }),
    error: h("p", { id: "import-error", className: "error", role: "alert", hidden: true }),
    source: h("select", { id: "export-source" }),
    download: h("a", { id: "export-link", className: "button", download: "" }, t("Download")),
  };
  parts.progress = h("div", { className: "import-progress", hidden: true }, parts.bar, parts.status);
  parts.details = h("details", { hidden: true }, h("summary", {}, t("Skipped entries")), parts.skipped);
  const form = h(
    "form",
    { id: "import-form" },
    h(
      "fieldset",
      {},
      h("legend", {}, t("Import a file")),
      field(t("File (.ics calendar or .vcf contacts)") + " ", parts.file),
      field(t("Into") + " ", parts.target),
      h("div", { className: "actions" }, parts.start),
      parts.progress,
      parts.summary,
      parts.details,
      parts.error,
    ),
  );
  dialog = makeDialog({
    id: "transfer-dialog",
    titleId: "transfer-title",
    className: "transfer",
    title: t("Import and export"),
    content: [
      form,
      h(
        "fieldset",
        {},
        h("legend", {}, t("Export")),
        field(t("Calendar or address book") + " ", parts.source),
        h("div", { className: "actions" }, parts.download),
      ),
    ],
    end: [closeButton(t("Close"), { id: "transfer-close" })],
  });
  parts.file.addEventListener("change", fillTargets);
  parts.source.addEventListener("change", pointDownload);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    begin().catch(failed);
  });
}

function kindOf(name) {
  return KINDS[name.split(".").pop().toLowerCase()] || "";
}

function option(info) {
  return h("option", { value: info.path, title: info.path }, info.name);
}

function fillTargets() {
  const file = parts.file.files[0];
  const kind = file ? kindOf(file.name) : "";
  const writable = (collections[kind] || []).filter((c) => c.writable);
  parts.target.replaceChildren(...writable.map(option));
  const wanted = writable.find((c) => c.path === preferred);
  if (wanted) parts.target.value = wanted.path;
  parts.error.hidden = true;
  if (file && !kind) showError(t("Choose an .ics (calendar) or .vcf (contacts) file."));
  else if (file && !writable.length) showError(t("You have nowhere to import this kind of file."));
}

function fillSources() {
  const group = (label, list) => h("optgroup", { label }, ...list.map(option));
  parts.source.replaceChildren(
    group(t("Calendars"), collections.calendars),
    group(t("Address books"), collections.addressbooks),
  );
  const all = [...collections.calendars, ...collections.addressbooks];
  if (all.some((c) => c.path === preferred)) parts.source.value = preferred;
  pointDownload();
}

function pointDownload() {
  parts.download.href = `/api/export?${query({ path: parts.source.value })}`;
}

function showError(message) {
  parts.error.textContent = message;
  parts.error.hidden = false;
}

function failed(failure) {
  running = false;
  parts.start.disabled = false;
  parts.progress.hidden = true;
  showError(failure.message);
}

function upload(file, target) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/import-jobs?${query({ name: file.name, into: target })}`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        parts.bar.value = Math.round((100 * event.loaded) / event.total);
        parts.status.textContent = t("Uploading {name}: {percent}%", {
          name: file.name,
          percent: parts.bar.value,
        });
      }
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) resolve(xhr.response);
      else {
        const refused = t("The upload was refused ({status}).", { status: xhr.status });
        reject(new Error(xhr.response?.error || refused));
      }
    });
    xhr.addEventListener("error", () => reject(new Error(t("The upload failed; try again."))));
    xhr.send(file);
  });
}

function counts(job) {
  return t("{added} added, {updated} updated, {skipped} skipped", {
    added: number(job.added),
    updated: number(job.updated),
    skipped: number(job.skipped_count),
  });
}

function show(job) {
  const share = job.size ? job.position / job.size : 0;
  parts.bar.value = job.status === "done" ? 100 : Math.min(99, Math.round(100 * share));
  parts.status.textContent =
    job.status === "done"
      ? t("Done: {entries} entries read.", { entries: number(job.entries) })
      : t("Importing {name}: {percent}% ({counts})", {
          name: job.filename,
          percent: parts.bar.value,
          counts: counts(job),
        });
}

function finish(job) {
  running = false;
  parts.start.disabled = false;
  if (job.status === "failed") {
    showError(t("The import stopped: {error}", { error: job.error }));
    return;
  }
  parts.summary.textContent = t("{name}: {counts}.", { name: job.filename, counts: counts(job) });
  parts.skipped.replaceChildren(...job.skipped.map((s) => h("li", {}, s.reason)));
  if (job.skipped_count > job.skipped.length) {
    const count = job.skipped_count - job.skipped.length;
    parts.skipped.append(h("li", {}, t("… and {count} more", { count: number(count) })));
  }
  parts.details.hidden = job.skipped_count === 0;
  imported(job);
  if (!dialog.open) {
    toast(t("Import of {name} done: {counts}.", { name: job.filename, counts: counts(job) }));
  }
}

async function follow(job) {
  while (job.status === "running") {
    show(job);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api("GET", `/api/import-jobs/${encodeURIComponent(job.id)}`);
  }
  show(job);
  finish(job);
}

async function begin() {
  const file = parts.file.files[0];
  if (running || !file || !parts.target.value) return;
  running = true;
  parts.start.disabled = true;
  parts.error.hidden = parts.details.hidden = true;
  parts.summary.textContent = "";
  parts.progress.hidden = false;
  parts.bar.value = 0;
  const job = await upload(file, parts.target.value);
  await follow(job);
}

/** Open the dialog; ``where`` is preselected, ``done(job)`` runs after each import. */
export async function openTransfer(where = "", done = () => {}) {
  if (!dialog) build();
  preferred = where;
  imported = done;
  const [calendars, addressbooks] = await Promise.all([
    api("GET", "/api/calendars"),
    api("GET", "/api/addressbooks"),
  ]);
  collections = { calendars: calendars.calendars, addressbooks: addressbooks.addressbooks };
  fillSources();
  if (!running) fillTargets();
  dialog.showModal();
}
