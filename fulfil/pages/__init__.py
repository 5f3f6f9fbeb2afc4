"""Server-rendered pages: the store app at /store (the ops console will join it). Templates and static files live in
fulfil/web/<app>/, message catalogs in fulfil/web/locale/."""
