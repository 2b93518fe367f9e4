// The web calendar in the reader's language: the server says it in <html lang> and serves
// its catalog at /web/i18n/<lang>.json (English source -> translation, from the gettext
// catalogs of domain "web"). t("English {name}", {name}) translates a text in JavaScript;
// translatePage() the HTML: data-i18n (the element's text) and data-i18n-title,
// -placeholder, -aria-label, -alt (those attributes), whose source is the English in the page.
export const language = document.documentElement.lang || "en";

async function load() {
  if (language === "en") return {};
  const response = await fetch(`/web/i18n/${language}.json`).catch(() => null);
  return response && response.ok ? response.json() : {};
}

const catalog = await load();

export function t(text, values = {}) {
  const translated = catalog[text] || text;
  return translated.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

const ATTRIBUTES = ["title", "placeholder", "aria-label", "alt"];

export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.textContent.trim());
  }
  for (const name of ATTRIBUTES) {
    for (const element of root.querySelectorAll(`[data-i18n-${name}]`)) {
      element.setAttribute(name, t(element.getAttribute(name)));
    }
  }
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = title.textContent;
}

translatePage();
