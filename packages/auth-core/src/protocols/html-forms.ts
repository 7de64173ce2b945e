/** One `<input>` of an HTML form, as a browser would submit it. */
export interface FormInput {
  name: string;
  value: string;
  /** Lower-cased; `text` when the page gives none. */
  type: string;
}

/** One HTML form of a page: where it posts, and its named inputs in page order. */
export interface HtmlForm {
  /** The `action` attribute as written (relative or absolute; `''` means the page's own URL). */
  action: string;
  /** Lower-cased; `get` when the page gives none. */
  method: string;
  inputs: FormInput[];
  /** Names of what a person would choose on it: checkboxes, radio buttons, named submit buttons. */
  choices: string[];
}

/** What an identity provider's page holds that a login step reads: its title and its forms. */
export interface HtmlPage {
  title: string;
  forms: HtmlForm[];
}

const FORM = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
const INPUT = /<input\b([^>]*)>/gi;
const ATTRIBUTE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const TITLE = /<title[^>]*>([\s\S]*?)<\/title\s*>/i;
/** Inputs a browser never submits by themselves. */
const NOT_SUBMITTED = new Set(['submit', 'button', 'image', 'reset', 'file']);
/** Inputs that stand for a person's choice. */
const CHOSEN = new Set(['checkbox', 'radio', 'submit', 'button', 'image']);

/**
 * Reads the forms of an HTML page, enough for the sign-in pages of ADFS, Azure AD and the like:
 * no scripts are run, and inputs outside a `<form>` are ignored. For login steps of the
 * session-renew preset (see `ssoFormLogin`).
 */
export function readHtmlPage(html: string): HtmlPage {
  const title = decodeEntities(TITLE.exec(html)?.[1] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  const forms: HtmlForm[] = [];
  for (const [, formAttributes = '', content = ''] of html.matchAll(FORM)) {
    const attributes = attributesOf(formAttributes);
    const inputs: FormInput[] = [];
    const choices: string[] = [];
    for (const [, inputAttributes = ''] of content.matchAll(INPUT)) {
      const input = attributesOf(inputAttributes);
      const type = (input.type ?? 'text').toLowerCase();
      if (input.name === undefined || input.name === '') continue;
      if (CHOSEN.has(type) && !choices.includes(input.name)) choices.push(input.name);
      if (NOT_SUBMITTED.has(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && input.checked === undefined) continue;
      inputs.push({ name: input.name, value: input.value ?? (type === 'checkbox' ? 'on' : ''), type });
    }
    forms.push({ action: attributes.action ?? '', method: (attributes.method ?? 'get').toLowerCase(), inputs, choices });
  }
  return { title, forms };
}

function attributesOf(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name = '', double, single, bare] of source.matchAll(ATTRIBUTE)) {
    const key = name.toLowerCase();
    if (!(key in attributes)) attributes[key] = decodeEntities(double ?? single ?? bare ?? '');
  }
  return attributes;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body[0] !== '#') return NAMED[body.toLowerCase()] ?? entity;
    const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}
