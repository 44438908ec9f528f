/**
 * `h()`: build a DOM element with classes, attributes, listeners and children.
 */
import { LastCheck } from '../model';

export type Child = Node | string | null | undefined | false;

export interface ElementOptions {
  className?: string;
  title?: string;
  attrs?: Record<string, string>;
  onClick?: (event: MouseEvent) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) {
    node.className = options.className;
  }
  if (options.title) {
    node.title = options.title;
  }
  for (const [key, value] of Object.entries(options.attrs ?? {})) {
    node.setAttribute(key, value);
  }
  if (options.onClick) {
    const handler = options.onClick;
    node.addEventListener('click', event => handler(event as MouseEvent));
  }
  for (const child of children) {
    if (child instanceof Node) {
      node.appendChild(child);
    } else if (typeof child === 'string') {
      node.appendChild(document.createTextNode(child));
    }
  }
  return node;
}

const KNOWN_STATUSES = ['active', 'draft', 'proposed', 'deprecated', 'retired'];

/** A status badge: active, draft, proposed, deprecated, retired get their colour; ODCS allows any other text, shown as written. */
export function statusBadge(status: string): HTMLElement {
  const kind = KNOWN_STATUSES.includes(status) ? status : 'other';
  return h(
    'span',
    { className: `jp-meshlab-badge jp-meshlab-badge-${kind}`, title: `status: ${status}` },
    status
  );
}

/** A button in the JupyterLab style. */
export function button(
  label: string,
  onClick: () => void,
  className = '',
  title = ''
): HTMLButtonElement {
  return h(
    'button',
    {
      className: `jp-Button jp-mod-styled jp-meshlab-button ${className}`.trim(),
      title,
      attrs: { type: 'button' },
      onClick: () => onClick()
    },
    label
  );
}

/**
 * The outcome of a dataset's latest check run, or null when it passed or was never
 * checked: the tree flags only what needs attention.
 */
export function checkBadge(check: LastCheck | null | undefined, always = false): HTMLElement | null {
  if (!check || (check.status === 'passed' && !always)) {
    return null;
  }
  const label = check.status === 'passed' ? 'checks passed' : check.status === 'failed' ? 'checks failed' : 'check error';
  return h(
    'span',
    {
      className: `jp-meshlab-badge jp-meshlab-check jp-meshlab-check-${check.status}`,
      title: `${check.summary} (checked ${check.checked_at})`
    },
    label
  );
}
