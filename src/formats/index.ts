// Streaming disk-format inspection: what an upload really is, its virtual size, and whether it is
// safe to hand to qemu-img or a hypervisor. Pure data in, plain data out: callers build the errors.
export { createInspector, DEFAULT_VMDK_ALLOWED_TYPES, MAX_RETAINED_BYTES, type Inspector } from './inspector.ts';
export { formatMatches, judgeUpload, virtualSizeFor, type UploadVerdict } from './match.ts';
export {
  INSPECTABLE_FORMATS,
  type DetectedFormat, type FormatName, type InspectionResult, type InspectorOptions,
} from './types.ts';
