(function () {
  'use strict';
  var body = document.body;
  var token = body.getAttribute('data-token');
  var standalone = body.getAttribute('data-layer') === 'preferences';
  var sent = false;

  // Android: an object named KmerConsentBridge (addWebMessageListener or addJavascriptInterface);
  // iOS: the WKScriptMessageHandler named kmerConsent. The message is a JSON string either way.
  function post(json) {
    var handlers = window.webkit && window.webkit.messageHandlers;
    if (handlers && handlers.kmerConsent) {
      handlers.kmerConsent.postMessage(json);
    } else if (window.KmerConsentBridge && typeof window.KmerConsentBridge.postMessage === 'function') {
      window.KmerConsentBridge.postMessage(json);
    }
  }

  function send(action) {
    if (sent) return;
    var message = { type: 'kmer-consent/ui', version: 1, token: token, action: action };
    if (action === 'save') {
      var choices = {};
      var boxes = document.querySelectorAll('input[data-category]');
      for (var i = 0; i < boxes.length; i++) {
        choices[boxes[i].getAttribute('data-category')] = boxes[i].checked;
      }
      message.choices = choices;
    }
    sent = true;
    var buttons = document.querySelectorAll('button');
    for (var j = 0; j < buttons.length; j++) buttons[j].disabled = true;
    post(JSON.stringify(message));
  }

  function show(id) {
    var layers = document.querySelectorAll('.layer');
    for (var i = 0; i < layers.length; i++) layers[i].hidden = layers[i].id !== id;
    var heading = document.getElementById(id + '-title');
    if (heading) heading.focus();
  }

  document.addEventListener('click', function (event) {
    var target = event.target.closest('[data-action], [data-show]');
    if (!target || target.disabled) return;
    if (target.hasAttribute('data-show')) {
      show(target.getAttribute('data-show'));
    } else {
      send(target.getAttribute('data-action'));
    }
  });

  // Escape: back from the preferences to the banner; otherwise leave (the banner: a refusal).
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    if (standalone) {
      send('close');
    } else if (!document.getElementById('preferences').hidden) {
      show('banner');
    } else {
      send('dismiss');
    }
  });
})();
