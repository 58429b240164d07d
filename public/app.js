/*
 * The pages' own script (no inline script anywhere: the CSP allows only files from this app).
 * - Charts: every <canvas data-chart> draws from the JSON in the data-chart-data attribute of
 *   the element named by its data-source. Those elements sit inside fragments HTMX polls, so
 *   after each swap the existing charts are updated in place (no animation, no flicker).
 * - Uploads: the create form and the content form send files to the JSON API with
 *   XMLHttpRequest, so a progress bar can follow the upload; the session cookie and the CSRF
 *   token (from the meta tag) authenticate them.
 */
(function () {
  'use strict';

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }

  // --- charts -----------------------------------------------------------------------------------

  var PALETTE = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c', '#0e7490'];

  function readSource(canvas) {
    var el = document.getElementById(canvas.getAttribute('data-source'));
    if (!el) return null;
    try {
      return JSON.parse(el.getAttribute('data-chart-data'));
    } catch (e) {
      return null;
    }
  }

  function sankeyMeasure() {
    var checked = document.querySelector('input[data-sankey-measure]:checked');
    return checked ? checked.value : 'bytes';
  }

  function humanBytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var u = 0;
    while (n >= 1024 && u < units.length - 1) {
      n /= 1024;
      u++;
    }
    return (u === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[u];
  }

  function configFor(kind, data, canvas) {
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: true, position: 'bottom' } },
    };
    if (kind === 'sankey') {
      var measure = sankeyMeasure();
      return {
        type: 'sankey',
        data: {
          datasets: [
            {
              label: measure === 'bytes' ? 'Bytes moved' : 'Moves',
              data: data[measure] || [],
              colorFrom: function () {
                return '#1d4ed8';
              },
              colorTo: function () {
                return '#047857';
              },
              colorMode: 'gradient',
              borderWidth: 0,
              size: 'max',
            },
          ],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  var f = ctx.raw;
                  return f.from + ' ' + f.to + ': ' + (measure === 'bytes' ? humanBytes(f.flow) : f.flow + ' moves');
                },
              },
            },
          },
        },
      };
    }
    var stackedBars = kind === 'stacked-bar' || kind === 'bar-line';
    var datasets = (data.datasets || []).map(function (d, i) {
      var color = PALETTE[i % PALETTE.length];
      var type = d.type || (kind === 'line' ? 'line' : 'bar');
      return Object.assign({}, d, {
        type: type,
        borderColor: color,
        backgroundColor: type === 'line' ? color : color + 'cc',
        // A line of one point (a history's first day) has nothing to draw but its point.
        pointRadius: type === 'line' ? ((data.labels || []).length === 1 ? 4 : 0) : undefined,
        borderWidth: type === 'line' ? 2 : 0,
        tension: 0.2,
        // Bars stack on each other (reads and writes side by side would hide one behind the
        // other); a line (a forecast) is its own stack, drawn over them.
        stack: stackedBars ? (type === 'line' ? 'line-' + i : 'bars') : undefined,
        order: type === 'line' ? 0 : 1,
      });
    });
    return {
      type: kind === 'line' ? 'line' : 'bar',
      data: { labels: data.labels || [], datasets: datasets },
      options: Object.assign(common, {
        scales: {
          x: { stacked: stackedBars, title: axisTitle(canvas, 'x') },
          y: { stacked: stackedBars, beginAtZero: true, title: axisTitle(canvas, 'y') },
        },
      }),
    };
  }

  /** Every chart names its axes with their units: data-x-title and data-y-title on the canvas. */
  function axisTitle(canvas, axis) {
    var text = canvas.getAttribute('data-' + axis + '-title');
    return { display: Boolean(text), text: text || '' };
  }

  /** No data, or nothing but zeros: the chart is replaced by its data-empty-text line. */
  function isEmpty(kind, data) {
    if (kind === 'sankey') return (data[sankeyMeasure()] || []).length === 0;
    if (!(data.labels || []).length) return true;
    return (data.datasets || []).every(function (d) {
      return (d.data || []).every(function (v) {
        return !v;
      });
    });
  }

  /**
   * The empty state: the chart's box shrinks to one line of text. The line and the mark are
   * data-js-* (client-owned), so a morphing swap of the fragment around them leaves them be.
   */
  function showEmpty(canvas, empty) {
    var box = canvas.closest('.chart-box') || canvas.parentNode;
    var text = canvas.getAttribute('data-empty-text');
    if (!text) return false;
    var note = box.querySelector('.chart-empty');
    if (empty && !note) {
      note = document.createElement('p');
      note.className = 'chart-empty muted';
      note.setAttribute('data-js-owned', '');
      box.appendChild(note);
    }
    if (note) note.textContent = text;
    if (empty) box.setAttribute('data-js-empty', '');
    else box.removeAttribute('data-js-empty');
    return true;
  }

  function draw(canvas) {
    if (typeof window.Chart === 'undefined') return;
    var kind = canvas.getAttribute('data-chart');
    var data = readSource(canvas);
    if (!data) return;
    var existing = window.Chart.getChart(canvas);
    var empty = isEmpty(kind, data);
    if (!showEmpty(canvas, empty) && kind === 'sankey') {
      canvas.hidden = empty;
      if (empty && existing) existing.destroy();
    }
    canvas.setAttribute('data-rendered', String(Date.now()));
    if (empty) return;
    var config = configFor(kind, data, canvas);
    if (existing && existing.config.type === config.type && kind !== 'sankey') {
      // Update in place: same chart object, new numbers, no animation.
      existing.data.labels = config.data.labels;
      config.data.datasets.forEach(function (d, i) {
        if (existing.data.datasets[i]) existing.data.datasets[i].data = d.data;
        else existing.data.datasets.push(d);
      });
      existing.data.datasets.length = config.data.datasets.length;
      existing.update('none');
    } else if (existing && kind === 'sankey') {
      existing.data = config.data;
      existing.options.plugins.tooltip = config.options.plugins.tooltip;
      existing.update('none');
    } else {
      if (existing) existing.destroy();
      new window.Chart(canvas, config);
    }
  }

  function drawAll() {
    document.querySelectorAll('canvas[data-chart]').forEach(draw);
  }

  document.addEventListener('DOMContentLoaded', drawAll);
  document.addEventListener('htmx:afterSettle', drawAll);
  document.addEventListener('change', function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute('data-sankey-measure')) {
      var c = document.getElementById('sankey-chart');
      if (c) {
        var existing = window.Chart && window.Chart.getChart(c);
        if (existing) existing.destroy();
        draw(c);
      }
    }
  });

  // --- uploads ----------------------------------------------------------------------------------

  function message(el, text, isError) {
    if (!el) return;
    el.textContent = text;
    el.className = isError ? 'alert alert-error' : 'small';
    if (isError) el.setAttribute('role', 'alert');
  }

  function detailOf(xhr) {
    try {
      return JSON.parse(xhr.responseText).detail || 'HTTP ' + xhr.status;
    } catch (e) {
      return 'HTTP ' + xhr.status;
    }
  }

  /** Sends `body` with XMLHttpRequest, following the upload on `progress`. */
  function send(method, url, body, contentType, progress, status, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    if (contentType) xhr.setRequestHeader('content-type', contentType);
    if (progress) {
      progress.hidden = false;
      progress.value = 0;
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable) {
          progress.value = Math.round((e.loaded / e.total) * 100);
          message(status, 'Uploading: ' + progress.value + '%');
        }
      });
    }
    xhr.addEventListener('load', function () {
      done(xhr);
    });
    xhr.addEventListener('error', function () {
      message(status, 'The upload failed: the connection was lost.', true);
    });
    xhr.send(body);
  }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.hasAttribute('data-create-dataset')) {
      e.preventDefault();
      var name = form.elements.name.value.trim();
      var size = form.elements.size_gb.value.trim();
      var file = form.elements.file.files[0];
      var status = document.getElementById('upload-status');
      var progress = document.getElementById('upload-progress');
      if (!name) {
        message(status, 'name: is required', true);
        form.elements.name.focus();
        return;
      }
      var finish = function (xhr) {
        if (xhr.status === 201) {
          var d = JSON.parse(xhr.responseText);
          if (progress) progress.value = 100;
          form.setAttribute('data-created', String(d.id));
          message(
            status,
            'Created ' + d.name + (file ? ' (' + humanBytes(file.size) + ' uploaded)' : '') + '. Opening it…',
          );
          window.location.assign('/datasets/' + d.id);
        } else {
          message(status, detailOf(xhr), true);
        }
      };
      if (file) {
        // The API reads the fields before the file: append them first.
        var fd = new FormData();
        fd.append('name', name);
        fd.append('file', file, file.name);
        send('POST', '/api/datasets', fd, null, progress, status, finish);
      } else {
        var body = { name: name };
        if (size !== '') body.size_gb = Number(size);
        send('POST', '/api/datasets', JSON.stringify(body), 'application/json', null, status, finish);
      }
    } else if (form.hasAttribute('data-upload-content')) {
      e.preventDefault();
      var f = form.elements.file.files[0];
      var st = document.getElementById('content-status');
      var pr = document.getElementById('content-progress');
      if (!f) {
        message(st, 'file: choose a file', true);
        return;
      }
      send('PUT', form.getAttribute('data-upload-content'), f, 'application/octet-stream', pr, st, function (xhr) {
        if (xhr.status === 200) {
          pr.value = 100;
          message(st, 'Uploaded ' + humanBytes(f.size) + '.');
          document.body.dispatchEvent(new Event('dataset-changed'));
        } else {
          message(st, detailOf(xhr), true);
        }
      });
    }
  });

  // --- copy buttons: <button data-copy="ID"> copies the text of the element ID ---------------

  document.addEventListener('click', function (e) {
    var btn = e.target && e.target.closest ? e.target.closest('button[data-copy]') : null;
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute('data-copy'));
    var status = btn.parentNode.querySelector('[data-copy-status]');
    if (!el) return;
    var text = el.textContent.trim();
    var done = function (ok) {
      if (status) status.textContent = ok ? 'Copied.' : 'Select it and copy by hand.';
    };
    if (navigator.clipboard && navigator.clipboard.writeText)
      navigator.clipboard.writeText(text).then(
        function () {
          done(true);
        },
        function () {
          done(false);
        },
      );
    else done(false);
  });
})();
