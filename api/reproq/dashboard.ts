export { GET, POST } from '../../workers/example/vercel.ts';
