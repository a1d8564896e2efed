// plua web REPL: runs code through POST /plua/execute, shows everything the
// runtime prints through the /ws WebSocket, and a status panel. Text from the
// runtime is never given to innerHTML: the HC3 console's HTML subset is
// turned into DOM nodes by renderHc3, everything else is plain text.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const output = $('output');
  const code = $('code');
  const runButton = $('run');
  const HISTORY_KEY = 'plua.history';
  const TOKEN_KEY = 'plua.token';
  const MAX_HISTORY = 200;
  const MAX_LINES = 2000;

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let history = [];
  try {
    history = JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
    if (!Array.isArray(history)) history = [];
  } catch (e) {
    history = [];
  }
  let historyPos = history.length;
  let draft = '';
  let socket = null;
  let socketDelay = 1000;
  let live = false;

  // --- the HC3 HTML subset -------------------------------------------------

  const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
  const TAGS = new Set(['font', 'span', 'b', 'i', 'u', 'strong', 'em']);

  function decodeEntities(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (all, name) => {
      if (name[0] === '#') {
        const n = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : all;
      }
      const value = ENTITIES[name.toLowerCase()];
      return value !== undefined ? value : all;
    });
  }

  function colorOf(name, attrs) {
    let m = null;
    if (name === 'font') m = /color\s*=\s*["']?([^"'\s>]+)/i.exec(attrs);
    else if (name === 'span') m = /color\s*:\s*([^;"']+)/i.exec(attrs);
    if (!m) return null;
    const color = m[1].trim();
    return /^(#[0-9a-f]{3,8}|[a-z]+[0-9]*|rgba?\([\d\s.,%]+\))$/i.test(color) ? color : null;
  }

  // Tags are only text shaped like a tag; unknown tags are dropped, their
  // text kept; entities are decoded inside text nodes, so "&lt;b&gt;" shows
  // "<b>" and never becomes markup.
  function renderHc3(text, into) {
    const tagPattern = /<(\/?)([a-zA-Z]+)([^<>]*)>/g;
    const stack = [into];
    const top = () => stack[stack.length - 1];
    const addText = (s) => { if (s) top().appendChild(document.createTextNode(decodeEntities(s))); };
    let last = 0;
    let m;
    while ((m = tagPattern.exec(text)) !== null) {
      addText(text.slice(last, m.index));
      last = tagPattern.lastIndex;
      const closing = m[1] === '/';
      const name = m[2].toLowerCase();
      if (name === 'br') {
        top().appendChild(document.createElement('br'));
        continue;
      }
      if (!TAGS.has(name)) continue;
      if (closing) {
        for (let k = stack.length - 1; k > 0; k--) {
          if (stack[k].dataset.tag === name) {
            stack.length = k;
            break;
          }
        }
        continue;
      }
      const element = document.createElement(name === 'font' ? 'span' : name);
      element.dataset.tag = name;
      const color = colorOf(name, m[3]);
      if (color) element.style.color = color;
      top().appendChild(element);
      stack.push(element);
    }
    addText(text.slice(last));
  }

  // --- output --------------------------------------------------------------

  function addLine(kind, text, hc3) {
    const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 30;
    const line = document.createElement('div');
    line.className = 'line ' + kind;
    if (hc3) renderHc3(text, line);
    else line.textContent = text;
    output.appendChild(line);
    while (output.childElementCount > MAX_LINES) output.firstElementChild.remove();
    if (atBottom || kind !== 'live') output.scrollTop = output.scrollHeight;
  }

  // --- requests --------------------------------------------------------------

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  async function api(path, options) {
    options = options || {};
    const response = await fetch(path, Object.assign({}, options, { headers: headers(options.headers) }));
    if (response.status === 401) {
      askToken();
      throw new Error('this plua requires its access token');
    }
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    return { status: response.status, body };
  }

  function askToken() {
    const form = $('token-form');
    if (!form.hidden) return;
    form.hidden = false;
    $('token-input').focus();
  }

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token-input').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token-form').hidden = true;
    if (socket) socket.close();
    refreshInfo();
    refreshStatus();
  });

  // --- running code ------------------------------------------------------------

  function remember(src) {
    if (history[history.length - 1] !== src) history.push(src);
    if (history.length > MAX_HISTORY) history = history.slice(-MAX_HISTORY);
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(history));
    } catch (e) {
      // storage full or disabled: history lasts for this page only
    }
    historyPos = history.length;
    draft = '';
  }

  async function run() {
    const src = code.value;
    if (!src.trim() || runButton.disabled) return;
    remember(src);
    addLine('input', src, false);
    runButton.disabled = true;
    try {
      const { status, body } = await api('/plua/execute', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: src, timeout: 30 }),
      });
      // With /ws up, printed lines arrive live; without it, show them here.
      if (body && body.output && !live) body.output.split('\n').forEach((l) => addLine('live', l, true));
      if (!body) addLine('error', 'HTTP ' + status, false);
      else if (body.success) {
        if (body.result !== null && body.result !== undefined) {
          addLine('result', JSON.stringify(body.result, null, 2), false);
        }
      } else addLine('error', body.error || 'HTTP ' + status, false);
      code.value = '';
    } catch (e) {
      addLine('error', 'Network error: ' + e.message, false);
    } finally {
      runButton.disabled = false;
      code.focus();
    }
  }

  runButton.addEventListener('click', run);
  $('clear').addEventListener('click', () => {
    output.replaceChildren();
    code.focus();
  });

  code.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
      return;
    }
    if (event.altKey || event.ctrlKey || event.shiftKey || code.selectionStart !== code.selectionEnd) return;
    const before = code.value.slice(0, code.selectionStart);
    const after = code.value.slice(code.selectionEnd);
    if (event.key === 'ArrowUp' && !before.includes('\n') && historyPos > 0) {
      event.preventDefault();
      if (historyPos === history.length) draft = code.value;
      historyPos--;
      code.value = history[historyPos];
      code.setSelectionRange(0, 0);
    } else if (event.key === 'ArrowDown' && !after.includes('\n') && historyPos < history.length) {
      event.preventDefault();
      historyPos++;
      code.value = historyPos === history.length ? draft : history[historyPos];
      code.setSelectionRange(code.value.length, code.value.length);
    }
  });

  // --- live output ---------------------------------------------------------------

  function setLive(on) {
    live = on;
    const badge = $('connection');
    badge.textContent = on ? 'live' : 'offline';
    badge.className = 'badge ' + (on ? 'online' : 'offline');
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const url = scheme + location.host + '/ws' + (token ? '?token=' + encodeURIComponent(token) : '');
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      setLive(true);
      socketDelay = 1000;
      refreshInfo();
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === 'output' && typeof message.text === 'string') addLine('live', message.text, true);
    });
    socket.addEventListener('close', () => {
      setLive(false);
      socket = null;
      // The server restarted or went away: try again, less and less often.
      setTimeout(connect, socketDelay);
      socketDelay = Math.min(socketDelay * 2, 10000);
    });
  }

  // --- status ----------------------------------------------------------------------

  function formatUptime(seconds) {
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + (s % 60) + ' s';
  }

  function formatBytes(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1024).toFixed(0) + ' KiB';
  }

  async function refreshInfo() {
    try {
      const { body } = await api('/plua/info');
      if (body) $('st-version').textContent = 'plua ' + body.plua_version + ', ' + body.lua_release;
    } catch (e) {
      // shown by the status refresh
    }
  }

  async function refreshStatus() {
    try {
      const { body } = await api('/plua/status');
      if (!body) return;
      $('st-uptime').textContent = formatUptime(body.uptime);
      $('st-memory').textContent = formatBytes(body.lua_memory_bytes);
      $('st-timers').textContent = body.timers;
      $('st-sockets').textContent = body.sockets;
      $('st-servers').textContent = body.servers;
    } catch (e) {
      $('st-uptime').textContent = 'unreachable';
    }
  }

  addLine('info', 'plua web REPL: expressions show their value, statements run once. ' +
                  'What scripts and timers print appears here live.', false);
  refreshInfo();
  refreshStatus();
  setInterval(refreshStatus, 3000);
  connect();
  code.focus();
})();
