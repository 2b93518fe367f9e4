// Every dialog of the web calendar is built here from a description, with h(): a modal
// <dialog> labelled by its heading, its content (inside a form when it has one) and a
// row of actions. The modules that open a dialog describe it next to the code that
// fills it, so no page's HTML holds a dialog.
import { h } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

/**
 * Build the dialog and add it to the page.
 * - `id`, `title`, `titleId` (the heading's id, `${id}-title` unless given), `className`;
 * - `form`: the properties of a form around content and actions (`method: "dialog"`
 *   closes the dialog with the pressed button's value), or none;
 * - `content`: the nodes between heading and actions;
 * - `start` and `end`: the action buttons left and right of the spacer.
 */
export function makeDialog(description) {
  const { id, title, titleId = `${id}-title`, className, form, content } = description;
  const { start = [], end = [] } = description;
  const parts = [
    h("h2", { id: titleId }, title),
    ...content,
    h("div", { class: "actions" }, ...start, h("span", { class: "spacer" }), ...end),
  ];
  const node = h(
    "dialog",
    { id, class: className, "aria-labelledby": titleId },
    form ? h("form", form, ...parts) : parts,
  );
  document.body.append(node);
  return node;
}

/** A button that closes the dialog it is in. */
export function closeButton(label, props = {}) {
  const onclick = (event) => event.currentTarget.closest("dialog").close();
  return h("button", { type: "button", ...props, onclick }, label);
}

/** The dialog form's primary button, which submits it. */
export function submitButton(label, props = {}) {
  return h("button", { type: "submit", class: "primary", ...props }, label);
}

/** A Delete button, hidden until the dialog shows something that exists. */
export function deleteButton(id) {
  return h("button", { type: "button", id, class: "danger", hidden: true }, t("Delete"));
}
