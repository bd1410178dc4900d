// Banter's service worker (served at /push-sw.js, scope /): shows a Web Push as a notification
// and, when it is clicked, focuses an open Banter tab on the room (or opens a tab at the room's
// or conversation's own address, which the page reads as it loads). The push's payload is the
// server's `PushNotice` JSON: {room, title, body, count, mention, with}.
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let notice = null;
  try {
    notice = event.data ? event.data.json() : null;
  } catch (_) {
    notice = null;
  }
  if (!notice || typeof notice.room !== 'string') {
    return;
  }
  const options = {
    body: String(notice.body || ''),
    tag: 'banter-' + notice.room,
    renotify: true,
    data: { room: notice.room, with: notice.with || null },
  };
  event.waitUntil(self.registration.showNotification(String(notice.title || 'Banter'), options));
});

// The web app's address of a conversation with `peer` (`#/dm/PERSON`, escaped the way the app
// writes it: state/address.rs hash_for_dm) or of a room or group conversation (`#/r/ROOM`).
function address(room, peer) {
  if (peer) {
    const escaped = encodeURIComponent(peer).replace(/[!'()*]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
    return '/#/dm/' + escaped;
  }
  return '/#/r/' + encodeURIComponent(room);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const room = String(data.room || '');
  const peer = data.with ? String(data.with) : null;
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const mine = open.filter((c) => new URL(c.url).origin === self.location.origin);
    if (mine.length > 0) {
      // A page already running listens for this and opens the room or conversation.
      const tab = mine[0];
      tab.postMessage({ banter: 'open', room: room, with: peer });
      return tab.focus();
    }
    // A new page is not listening yet: its address says where to go.
    return self.clients.openWindow(address(room, peer));
  })());
});
