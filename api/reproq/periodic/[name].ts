export { PUT, DELETE } from '../../../workers/example/vercel.ts';
