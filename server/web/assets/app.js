// weft web inbox: live updates over Server-Sent Events. No build step.
(function () {
  'use strict';

  var live = document.getElementById('live');
  // Events that change what the inbox shows.
  var TYPES = ['interrupted', 'answered', 'resumed', 'completed', 'failed', 'stopped', 'reset'];

  function follow(url, onEvent) {
    if (!window.EventSource) return null;
    var es = new EventSource(url);
    es.onopen = function () { if (live) live.hidden = false; };
    es.onerror = function () { if (live) live.hidden = true; };
    TYPES.forEach(function (t) { es.addEventListener(t, onEvent); });
    return es;
  }

  function toLogin() {
    location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  // The list: reload its rows when a thread pauses, is answered or moves on.
  var rows = document.getElementById('questions');
  if (rows) {
    var count = document.getElementById('count');
    var timer = null, busy = false, again = false;
    var load = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(rows.dataset.src, { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) {
          if (r.status === 401) { toLogin(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          rows.innerHTML = html;
          if (count) count.textContent = String(rows.querySelectorAll('tr.row').length);
          document.body.dataset.refreshed = String(Date.now());
        })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    };
    var refresh = function () {
      clearTimeout(timer);
      timer = setTimeout(load, 100);
    };
    follow('/inbox/events', refresh);
    // Answers given by other processes produce no event here.
    setInterval(refresh, 30000);
  }

  // One question: say so when someone else answers it.
  var q = document.getElementById('question');
  if (q && document.getElementById('answer-form')) {
    var banner = document.getElementById('answered-live');
    follow('/inbox/events?thread=' + encodeURIComponent(q.dataset.thread), function (ev) {
      var e = {};
      try { e = JSON.parse(ev.data); } catch (_) { return; }
      if (e.type !== 'answered' || !e.answer || e.answer.id !== q.dataset.interrupt) return;
      var form = document.getElementById('answer-form');
      if (form) {
        Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
      }
      if (banner) {
        banner.textContent = 'Answered by ' + (e.answer.author || 'someone') + ' via ' + e.answer.channel + '. Reload to see the answer.';
        banner.hidden = false;
      }
    });
  }
})();
