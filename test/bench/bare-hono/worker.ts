// The reference the Worker bundle is measured against: a bare Hono Worker with one route.
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('ok'));

export default app;
