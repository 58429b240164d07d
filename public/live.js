/*
 * The polls' manners. A poll is a GET from an element whose hx-trigger says "every Ns".
 * - An open tab costs little: no poll while the tab is hidden or the element is far off screen;
 *   a missed one is made up as soon as it is seen again.
 * - A dead server shows: a failed poll (no answer, a timeout, a gateway error) raises the banner
 *   "Server unreachable since HH:MM:SS" and greys the figures with a "stale" label; while it
 *   lasts one probe goes out per back-off step (2 s doubling to 10 s) instead of every poll,
 *   and the first answer clears it all. A poll's error never replaces the figures it polls.
 * - A form answered with a field marked aria-invalid puts the focus on that field.
 */
(function () {
  'use strict';
  if (typeof window.htmx === 'undefined') return;

  var BACKOFF_MIN_MS = 2000;
  var BACKOFF_MAX_MS = 10000;
  var NEAR_PX = 300;
  var failing = { since: null, failures: 0, lastProbe: 0 };

  /** The poll period of `el` in ms, or 0 when it does not poll. */
  function period(el) {
    var m = /every\s+(\d+(?:\.\d+)?)(ms|s|m)?/.exec((el && el.getAttribute && el.getAttribute('hx-trigger')) || '');
    if (!m) return 0;
    var n = Number(m[1]);
    return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60000 : n * 1000;
  }

  function isPoll(d) {
    return d.verb === 'get' && !d.triggeringEvent && period(d.elt) > 0;
  }

  function nearViewport(el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return true; // an empty slot (no gap listed yet) must still poll
    return r.bottom > -NEAR_PX && r.top < window.innerHeight + NEAR_PX;
  }

  /** Shown: the element or a chart drawn from data inside it is near the viewport. */
  function shown(el) {
    if (nearViewport(el)) return true;
    var charts = document.querySelectorAll('canvas[data-source]');
    for (var i = 0; i < charts.length; i++) {
      var src = document.getElementById(charts[i].getAttribute('data-source'));
      if (src && el.contains(src) && nearViewport(charts[i].closest('.chart-box') || charts[i])) return true;
    }
    return false;
  }

  function backoff() {
    return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, Math.max(0, failing.failures - 1)));
  }

  document.addEventListener('htmx:configRequest', function (e) {
    var d = e.detail;
    if (!isPoll(d)) return;
    var el = d.elt;
    if (document.visibilityState === 'hidden' || !shown(el)) {
      el.setAttribute('data-js-missed', '');
      e.preventDefault();
      return;
    }
    if (failing.since !== null) {
      var now = Date.now();
      if (now - failing.lastProbe < backoff()) {
        e.preventDefault();
        return;
      }
      failing.lastProbe = now;
    }
    el.removeAttribute('data-js-missed');
    // A poll that hangs must fail within its period, or a dead server would look alive.
    d.timeout = Math.max(BACKOFF_MIN_MS, period(el));
  });

  function refreshMissed() {
    if (document.visibilityState === 'hidden') return;
    document.querySelectorAll('[data-js-missed]').forEach(function (el) {
      if (!shown(el)) return;
      el.removeAttribute('data-js-missed');
      window.htmx.ajax('get', el.getAttribute('hx-get'), { source: el });
    });
  }
  document.addEventListener('visibilitychange', refreshMissed);
  var scrollQueued = false;
  window.addEventListener(
    'scroll',
    function () {
      if (scrollQueued) return;
      scrollQueued = true;
      window.requestAnimationFrame(function () {
        scrollQueued = false;
        refreshMissed();
      });
    },
    { passive: true },
  );

  // --- a dead server is visible ---------------------------------------------------------------

  function two(n) {
    return (n < 10 ? '0' : '') + n;
  }
  function clock(t) {
    var d = new Date(t);
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function figures() {
    return document.querySelectorAll('[hx-trigger*="every"], .chart-box');
  }

  function markStale(el) {
    el.classList.add('stale');
    el.setAttribute('data-js-stale', '');
  }
  function clearStale(el) {
    el.classList.remove('stale');
    el.removeAttribute('data-js-stale');
  }

  function unreachable() {
    failing.failures++;
    failing.lastProbe = Date.now();
    if (failing.since !== null) return;
    failing.since = Date.now();
    var banner = document.getElementById('conn-banner');
    if (banner) {
      banner.textContent =
        'Server unreachable since ' +
        clock(failing.since) +
        '. The figures on this page are stale; retrying every few seconds.';
      banner.hidden = false;
    }
    figures().forEach(markStale);
  }

  function reachable() {
    if (failing.since === null) return;
    failing.since = null;
    failing.failures = 0;
    var banner = document.getElementById('conn-banner');
    if (banner) banner.hidden = true;
    // Each figure stays marked until its own next poll has brought it up to date.
    document.querySelectorAll('.chart-box[data-js-stale]').forEach(clearStale);
  }

  document.addEventListener('htmx:sendError', function (e) {
    if (isPoll(e.detail.requestConfig || {})) unreachable();
  });
  document.addEventListener('htmx:timeout', function (e) {
    if (isPoll(e.detail.requestConfig || {})) unreachable();
  });

  document.addEventListener('htmx:beforeSwap', function (e) {
    var d = e.detail;
    var status = d.xhr ? d.xhr.status : 0;
    if (!isPoll(d.requestConfig || {})) return;
    if (status >= 502 && status <= 504) unreachable();
    else reachable();
    if (status >= 400 && status !== 401) {
      // Keep the last good figures, marked stale, rather than swap an error over them.
      d.shouldSwap = false;
      markStale(d.requestConfig.elt);
    }
  });

  document.addEventListener('htmx:afterSwap', function (e) {
    var d = e.detail;
    if (d.requestConfig && isPoll(d.requestConfig)) {
      clearStale(d.requestConfig.elt);
      return;
    }
    // A form answered with an invalid field: focus it, so the person types where the error is.
    var bad = d.target && d.target.querySelector && d.target.querySelector('[aria-invalid="true"]');
    if (bad && typeof bad.focus === 'function') bad.focus();
  });
})();
