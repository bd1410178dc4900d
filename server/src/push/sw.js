// Banter's service worker (served at /push-sw.js, scope /): shows a Web Push as a notification
// and, when it is clicked, focuses an open Banter tab on the room (or opens one). The push's
// payload is the server's `PushNotice` JSON: {room, title, body, count, mention, with}.
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

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const room = String(data.room || '');
  const target = data.with ? '/' : '/#/r/' + encodeURIComponent(room);
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const mine = open.filter((c) => new URL(c.url).origin === self.location.origin);
    if (mine.length > 0) {
      const tab = mine[0];
      tab.postMessage({ banter: 'open', room: room, with: data.with || null });
      return tab.focus();
    }
    const tab = await self.clients.openWindow(target);
    if (tab && data.with) {
      tab.postMessage({ banter: 'open', room: room, with: data.with });
    }
    return tab;
  })());
});
