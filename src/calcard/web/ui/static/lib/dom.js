// A little DOM building for the settings, trash and sharing views: h("p", {class: "x"}, "text").

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

/** A date-time as the browser shows it, or a dash. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—";
}

/** A day as the browser shows it. */
export function day(iso) {
  return iso ? new Date(iso).toLocaleDateString([], { dateStyle: "medium" }) : "—";
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
