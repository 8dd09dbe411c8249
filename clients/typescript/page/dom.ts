// A few DOM helpers. Every text from the server goes in as textContent, never
// as HTML.

type Child = Node | string | number | null | undefined | false;
type Attrs = { [name: string]: string | number | boolean | EventListener | undefined };

/** Creates an element with attributes (`on...` are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

/** Replaces el's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
}

/** A table of rows under a header; a row's first cell may be an element. */
export function table(head: string[], rows: Child[][], onRow?: (i: number) => void): HTMLTableElement {
  const t = h("table", {}, h("thead", {}, h("tr", {}, ...head.map((x) => h("th", {}, x)))));
  const body = h("tbody");
  rows.forEach((r, i) => {
    const tr = h("tr", {}, ...r.map((c) => h("td", {}, c)));
    if (onRow) {
      tr.classList.add("link");
      tr.addEventListener("click", () => onRow(i));
    }
    body.append(tr);
  });
  t.append(body);
  return t;
}

/** Bytes for people: 1.2 kB, 3.4 MB. */
export function bytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
