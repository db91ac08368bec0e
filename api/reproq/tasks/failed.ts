export { GET } from '../../../workers/example/vercel.ts';
