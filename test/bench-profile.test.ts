// bench:profile's summary of a V8 CPU profile: self time per sample's leaf
// function, by kind of work (the channel page's answer, /proc syscalls, the
// engine, idle) and by function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf, summarize } from '../bench/selftest-profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });

test('self time goes to the leaf of each sample, summed by kind and by function', () => {
  const p = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
      { id: 2, callFrame: frame('serve', 'file:///x/dist/src/server/channel-page.js', 96), children: [4] },
      { id: 3, callFrame: frame('(idle)') },
      { id: 4, callFrame: frame('answer', 'file:///x/dist/src/server/channel-page.js', 58) },
      { id: 5, callFrame: frame('accessRw', 'file:///x/dist/src/core/access.js', 175), children: [6] },
      { id: 6, callFrame: frame('read') },
    ],
    samples: [4, 4, 3, 6, 5, 2],
    timeDeltas: [100, 100, 500, 40, 60, 10],
  };
  const s = summarize(p);
  assert.equal(s.total, 810);
  assert.equal(s.kinds.get('channel page: answer and futex wake (the woken client may run first)'), 200);
  assert.equal(s.kinds.get('channel page: taking requests, polling for the next'), 10);
  assert.equal(s.kinds.get('idle: waiting for a request (epoll)'), 500);
  assert.equal(s.kinds.get('syscalls: read/write (/proc/<pid>/mem, /proc texts, region files)'), 40);
  assert.equal(s.kinds.get('engine: iommufd semantics, the machine (JS)'), 60);
  assert.equal(s.fns.get('answer server/channel-page.js:59'), 200);
  assert.equal(s.fns.get('accessRw core/access.js:176'), 60);
});

test('kinds: the server JS apart from the engine and Node', () => {
  assert.equal(kindOf(frame('resolveFd', 'file:///x/dist/src/server/server.js')), 'server: requests, files, fds (JS)');
  assert.equal(kindOf(frame('maps', 'file:///x/dist/src/server/process-memory.js')), 'server: client memory and /proc (JS)');
  assert.equal(kindOf(frame('readlink')), 'syscalls: open/close/stat/readlink (files, /proc)');
  assert.equal(kindOf(frame('emit', 'node:events')), 'Node: streams, buffers, fs wrappers, timers');
  assert.equal(kindOf(frame('(garbage collector)')), 'garbage collection');
});
