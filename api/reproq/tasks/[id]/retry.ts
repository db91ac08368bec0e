export { POST } from '../../../../workers/example/vercel.ts';
