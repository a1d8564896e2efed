// plua API docs: lists the routes of /openapi.json by tag, filters them as you
// type, and sends a request from the page ("try it"). Everything from the
// description or a response is shown with textContent, never as HTML.
(() => {
  'use strict';

  const TOKEN_KEY = 'plua.token';
  const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let operations = [];
  let document_ = null;
  let current = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    // Authorization may carry HC3 Basic credentials: the token has its own header.
    if (token) h['X-Plua-Token'] = token;
    return h;
  }

  function askToken() {
    $('token-form').hidden = false;
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token-input').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token-form').hidden = true;
    load();
  });

  // --- the description -------------------------------------------------------

  function resolve(node) {
    let guard = 0;
    while (node && typeof node.$ref === 'string' && node.$ref.startsWith('#/') && guard++ < 16) {
      node = node.$ref.slice(2).split('/').reduce((o, k) => (o ? o[k] : undefined), document_);
    }
    return node || {};
  }

  function collect(doc) {
    const list = [];
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const params = (op.parameters || []).concat(item.parameters || []).map(resolve);
        list.push({
          method: method.toUpperCase(),
          path,
          tag: (op.tags && op.tags[0]) || 'plua',
          summary: op.summary || '',
          operationId: op.operationId || '',
          pathParams: params.filter((p) => p.in === 'path'),
          queryParams: params.filter((p) => p.in === 'query'),
          hasBody: !!op.requestBody,
        });
      }
    }
    return list;
  }

  async function load() {
    const response = await fetch('/openapi.json', { headers: authHeaders() });
    if (response.status === 401) {
      askToken();
      return;
    }
    if (!response.ok) {
      $('load-error').textContent = 'cannot load /openapi.json: HTTP ' + response.status;
      $('load-error').hidden = false;
      return;
    }
    document_ = await response.json();
    operations = collect(document_);
    render();
  }

  // --- the list --------------------------------------------------------------

  function matches(op, words) {
    const text = (op.method + ' ' + op.path + ' ' + op.tag + ' ' + op.summary + ' ' + op.operationId).toLowerCase();
    return words.every((w) => text.includes(w));
  }

  function render() {
    const words = $('search').value.toLowerCase().split(/\s+/).filter(Boolean);
    const nav = $('routes');
    const groups = new Map();
    let shown = 0;
    nav.replaceChildren();
    // plua's own routes first, then the HC3 tags in alphabetical order.
    const sorted = operations.slice().sort((a, b) =>
      (a.tag === 'plua' ? -1 : 0) - (b.tag === 'plua' ? -1 : 0) ||
      a.tag.localeCompare(b.tag) || a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
    for (const op of sorted) {
      if (!matches(op, words)) continue;
      if (!groups.has(op.tag)) {
        const section = el('section');
        section.dataset.tag = op.tag;
        section.appendChild(el('h2', null, op.tag === 'plua' ? 'plua' : op.tag + ' (HC3)'));
        const ul = el('ul');
        section.appendChild(ul);
        nav.appendChild(section);
        groups.set(op.tag, ul);
      }
      const li = el('li');
      const button = el('button');
      button.type = 'button';
      button.dataset.method = op.method;
      button.dataset.route = op.path;
      button.appendChild(el('span', 'method ' + op.method, op.method));
      button.appendChild(el('span', 'route', op.path));
      button.appendChild(el('span', 'summary', op.summary));
      button.addEventListener('click', () => select(op));
      li.appendChild(button);
      groups.get(op.tag).appendChild(li);
      shown++;
    }
    $('count').textContent = shown + ' of ' + operations.length + ' routes';
  }

  $('search').addEventListener('input', render);

  // --- try it ------------------------------------------------------------------

  function exampleFor(param) {
    const schema = resolve(param.schema);
    if (param.example !== undefined) return String(param.example);
    if (schema.example !== undefined) return String(schema.example);
    if (schema.type === 'integer' || schema.type === 'number') return '1';
    if (schema.type === 'boolean') return 'true';
    return '';
  }

  function select(op) {
    current = op;
    $('try').hidden = false;
    $('try-result').hidden = true;
    $('try-method').textContent = op.method;
    $('try-method').className = 'method ' + op.method;
    $('try-route').textContent = op.path;
    $('try-summary').textContent = op.summary + (op.operationId ? ' (' + op.operationId + ')' : '');
    const fieldset = $('try-params');
    fieldset.replaceChildren(el('legend', null, 'Path parameters'));
    fieldset.hidden = op.pathParams.length === 0;
    for (const param of op.pathParams) {
      const id = 'param-' + param.name;
      const label = el('label', null, param.name + ' (' + (resolve(param.schema).type || 'string') + ')');
      label.htmlFor = id;
      const input = el('input');
      input.id = id;
      input.dataset.param = param.name;
      input.value = exampleFor(param);
      input.autocomplete = 'off';
      fieldset.appendChild(label);
      fieldset.appendChild(input);
    }
    $('try-query').value = '';
    $('try-query').placeholder = op.queryParams.map((p) => p.name + '=').join('&') || 'a=1&b=2';
    $('try-body').value = op.hasBody ? '{}' : '';
    $('try-body').disabled = op.method === 'GET' || op.method === 'HEAD';
  }

  function requestPath(op) {
    let path = op.path;
    for (const input of $('try-params').querySelectorAll('input[data-param]')) {
      path = path.split('{' + input.dataset.param + '}').join(encodeURIComponent(input.value));
    }
    const query = $('try-query').value.trim().replace(/^\?/, '');
    return query ? path + '?' + query : path;
  }

  $('try-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!current) return;
    const op = current;
    const url = requestPath(op);
    const options = { method: op.method, headers: authHeaders() };
    const user = $('try-user').value;
    if (user) options.headers.Authorization = 'Basic ' + btoa(unescape(encodeURIComponent(user + ':' + $('try-password').value)));
    if (op.method !== 'GET' && op.method !== 'HEAD' && $('try-body').value.trim() !== '') {
      options.body = $('try-body').value;
      options.headers['Content-Type'] = 'application/json';
    }
    $('try-result').hidden = false;
    $('try-url').textContent = op.method + ' ' + url;
    $('try-status').textContent = '…';
    $('try-response').textContent = '';
    try {
      const response = await fetch(url, options);
      const text = await response.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch (e) {
        // not JSON: shown as it came
      }
      $('try-status').textContent = response.status + ' ' + response.statusText;
      $('try-response').textContent = shown;
    } catch (e) {
      $('try-status').textContent = 'failed';
      $('try-response').textContent = String(e);
    }
  });

  load();
})();
