// The one way the web calendar builds elements: h("p", {class: "x"}, "text"). Pages and
// components build every element (dialogs too, see components/dialog.js) with it; the
// HTML pages hold only the fixed frame of each page.

/** An element with properties/attributes and children (strings become text). */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "list" && key !== "form") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** The <option>s of a select or datalist: `choices` maps each value to its text. */
export function options(choices) {
  return Object.entries(choices).map(([value, text]) => h("option", { value }, text));
}

/**
 * The parts of a translated sentence whose {placeholders} are nodes (a name in bold, say),
 * for append(): t() fills the texts and leaves these, so the sentence stays whole.
 */
export function sentence(text, nodes) {
  return text
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 ? (nodes[part] ?? `{${part}}`) : part))
    .filter((part) => part !== "");
}

/** The element with this id. */
export function $(id) {
  return document.getElementById(id);
}

/** Show a message (or an error) in a status element for a while. */
export function say(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle("error", isError);
  node.hidden = !text;
}

/** Copy text, falling back to selecting it in a field when the clipboard is not allowed. */
export async function copy(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field?.select();
    return false;
  }
}
