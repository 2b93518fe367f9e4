// The event form's attachments: links (ATTACH;VALUE=URI), http and https only, shown as
// links that open in a new tab without access to this page.
import { t } from "../lib/i18n.js";
import { $, h } from "../lib/dom.js";

let list; // the form's nodes, found in setup()
let error;
let input;

function webLink(text) {
  try {
    const url = new URL(text);
    return ["http:", "https:"].includes(url.protocol) && url.hostname ? url.href : null;
  } catch {
    return null;
  }
}

function row(link) {
  // href: only http(s), webLink() and the server checked it
  const anchor = h("a", { href: link, target: "_blank", rel: "noopener noreferrer" }, link);
  const remove = h(
    "button",
    {
      type: "button",
      className: "icon-button",
      "aria-label": t("Remove link {link}", { link }),
      onclick: () => item.remove(),
    },
    "✕",
  );
  const item = h("li", { "data-link": link }, anchor, remove);
  return item;
}

function add() {
  const text = input.value.trim();
  if (!text) return;
  const link = webLink(text);
  error.hidden = Boolean(link);
  error.textContent = link ? "" : t("Only http and https links can be attached.");
  if (!link) return;
  if (!added().includes(text)) list.append(row(text));
  input.value = "";
  input.focus();
}

function added() {
  return [...list.children].map((item) => item.dataset.link);
}

/** The form's links, including one typed but not yet added. */
export function read() {
  const links = added();
  const pending = input.value.trim();
  return pending && !links.includes(pending) ? [...links, pending] : links;
}

export function fill(links) {
  list.replaceChildren(...links.filter(webLink).map(row));
  input.value = "";
  error.hidden = true;
}

export function setup(form) {
  list = $("attachment-list");
  error = $("attachment-error");
  input = form.elements["attachment-url"];
  $("add-attachment").addEventListener("click", add);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // add the link rather than submit the whole form
      add();
    }
  });
}
