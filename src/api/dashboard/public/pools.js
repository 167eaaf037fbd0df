// The pools table: status, counters and, for operators, the actions (switch, enable/disable, priority, remove).
import * as fmt from './fmt.js';

const STATUS = { alive: 'pill-ok', dead: 'pill-bad', rejecting: 'pill-warn', disabled: 'pill-muted' };

function td(label, content, cls) {
  const c = document.createElement('td');
  c.dataset.label = label;
  if (cls) c.className = cls;
  if (content instanceof Node) c.append(content);
  else c.textContent = content;
  return c;
}

function button(text, onClick, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `btn btn-sm ${cls}`;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

/** `act(what, method, path, body)` runs an action and refreshes. */
export function renderPools(tbody, pools, canAct, act) {
  // a priority being typed is not redrawn under the user's hands
  const a = document.activeElement;
  if (a instanceof HTMLInputElement && tbody.contains(a)) return;
  tbody.replaceChildren(
    ...pools.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.pool = String(p.pool);
      if (p.current) tr.className = 'current';
      let prio;
      if (canAct) {
        prio = document.createElement('input');
        prio.type = 'number';
        prio.min = '0';
        prio.max = '999';
        prio.className = 'prio';
        prio.value = String(p.priority);
        prio.setAttribute('aria-label', `priority of pool ${p.pool}`);
        prio.addEventListener('change', () => {
          const v = Number(prio.value);
          if (Number.isInteger(v) && v >= 0 && v <= 999)
            void act('priority', 'PATCH', `/api/v1/pools/${p.pool}`, { priority: v });
        });
      } else prio = String(p.priority);
      const who = document.createElement('div');
      const url = document.createElement('div');
      url.className = 'pool-url';
      url.textContent = p.url;
      const user = document.createElement('div');
      user.className = 'pool-user';
      user.textContent = `${p.user}${p.current ? ' · mining here' : ''}${p.lastError ? ` · ${p.lastError}` : ''}`;
      who.append(url, user);
      const st = document.createElement('span');
      st.className = `pill ${STATUS[p.status] ?? 'pill-muted'}`;
      st.dataset.field = 'status';
      st.textContent = p.status;
      const acc = td('Accepted', fmt.int(p.accepted), 'num');
      acc.dataset.value = String(p.accepted);
      const rej = td('Rejected', fmt.int(p.rejected), 'num');
      rej.dataset.value = String(p.rejected);
      const cells = [
        td('Priority', prio),
        td('Pool', who, 'pool-cell'),
        td('Status', st),
        acc,
        rej,
        td('Stale', fmt.int(p.stale), 'num'),
        td('Difficulty', fmt.difficulty(p.difficulty), 'num'),
        td(
          'Latency',
          Number.isFinite(p.lastLatencyMs) && p.lastLatencyMs > 0 ? `${Math.round(p.lastLatencyMs)} ms` : '—',
          'num',
        ),
      ];
      const actions = document.createElement('div');
      actions.className = 'actions';
      if (!p.current && p.enabled)
        actions.append(button('Switch', () => void act('switch', 'POST', `/api/v1/pools/${p.pool}/switch`)));
      actions.append(
        p.enabled
          ? button('Disable', () => void act('disable', 'POST', `/api/v1/pools/${p.pool}/disable`))
          : button('Enable', () => void act('enable', 'POST', `/api/v1/pools/${p.pool}/enable`)),
        button(
          'Remove',
          () => {
            if (confirm(`Remove pool ${p.url}?`)) void act('remove', 'DELETE', `/api/v1/pools/${p.pool}`);
          },
          'btn-danger',
        ),
      );
      cells.push(td('', actions, 'act'));
      tr.append(...cells);
      return tr;
    }),
  );
}
