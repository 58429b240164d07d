/*
 * hx-swap="morph": the new fragment is merged into the live children of the target instead of
 * replacing them, so a poll never undoes the user. Elements that stay keep their identity, and
 * with it an open <details>, a table's scroll position, focus, a half-typed input (the browser's
 * dirty-value flag keeps it when only the value attribute changes) and a chart's canvas.
 *
 * Hand-written rather than the idiomorph package: the fragments are small server-rendered lists
 * and tables, position plus id matching is enough for them, and the rules the pages need (the
 * browser-owned `open`, Chart.js's canvas attributes, client-owned `data-js-*` marks) are a few
 * lines here instead of callbacks on a general algorithm.
 */
(function () {
  'use strict';

  /** Attributes the user, the browser or a library owns on a live element: a swap leaves them be. */
  function kept(el, name) {
    if (name === 'style' || name.indexOf('data-js-') === 0) return true;
    if (name === 'open' && el.tagName === 'DETAILS') return true;
    return el.tagName === 'CANVAS' && (name === 'width' || name === 'height' || name === 'data-rendered');
  }

  /** Elements this script's siblings added (an empty-state line, a stale label): never removed by a swap. */
  function owned(node) {
    return node.nodeType === 1 && node.hasAttribute('data-js-owned');
  }

  function syncAttributes(live, next) {
    var i, a;
    for (i = 0; i < next.attributes.length; i++) {
      a = next.attributes[i];
      if (!kept(live, a.name) && live.getAttribute(a.name) !== a.value) live.setAttribute(a.name, a.value);
    }
    for (i = live.attributes.length - 1; i >= 0; i--) {
      a = live.attributes[i];
      if (!kept(live, a.name) && !next.hasAttribute(a.name)) live.removeAttribute(a.name);
    }
  }

  function sameKind(a, b) {
    if (a.nodeType !== b.nodeType) return false;
    if (a.nodeType !== 1) return true;
    return a.tagName === b.tagName && (a.id || '') === (b.id || '');
  }

  function morphNode(live, next) {
    if (live.nodeType !== 1) {
      if (live.nodeValue !== next.nodeValue) live.nodeValue = next.nodeValue;
      return;
    }
    syncAttributes(live, next);
    if (live.tagName === 'CANVAS') return; // Chart.js owns the drawing and its size
    if (live.tagName === 'TEXTAREA') {
      if (live.defaultValue !== next.defaultValue) live.defaultValue = next.defaultValue;
      return;
    }
    morphChildren(live, next);
  }

  /** Makes live's children look like next's, reusing live nodes by id, else by position and kind. */
  function morphChildren(live, next) {
    var wanted = {};
    var byId = {};
    var c;
    for (c = next.firstElementChild; c; c = c.nextElementSibling) if (c.id) wanted[c.id] = true;
    for (c = live.firstElementChild; c; c = c.nextElementSibling) if (c.id) byId[c.id] = c;
    var cursor = live.firstChild;
    var skip = function () {
      // Client-owned nodes stay where they are; live elements whose id is gone are dropped now.
      while (cursor && (owned(cursor) || (cursor.nodeType === 1 && cursor.id && !wanted[cursor.id]))) {
        var here = cursor;
        cursor = cursor.nextSibling;
        if (!owned(here)) live.removeChild(here);
      }
    };
    var n = next.firstChild;
    while (n) {
      var following = n.nextSibling;
      skip();
      var match = null;
      if (n.nodeType === 1 && n.id && byId[n.id] && byId[n.id].tagName === n.tagName) match = byId[n.id];
      else if (cursor && sameKind(cursor, n)) match = cursor;
      if (match) {
        if (match === cursor) cursor = cursor.nextSibling;
        else live.insertBefore(match, cursor);
        morphNode(match, n);
      } else {
        live.insertBefore(n, cursor);
      }
      n = following;
    }
    while (cursor) {
      var gone = cursor;
      cursor = cursor.nextSibling;
      if (!owned(gone)) live.removeChild(gone);
    }
  }

  window.dimMorph = morphChildren;

  if (typeof window.htmx === 'undefined') return;
  window.htmx.defineExtension('morph', {
    handleSwap: function (swapStyle, target, fragment) {
      if (swapStyle !== 'morph') return false;
      morphChildren(target, fragment);
      // htmx (re)initialises these: elements whose hx-* attributes changed are set up again.
      return Array.prototype.slice.call(target.children);
    },
  });
})();
