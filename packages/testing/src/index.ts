export { createManualClock, type ManualClock } from './clock.js';
export type { FaultControl, FaultEndpoint, FaultKind, FaultOptions } from './faults.js';
export type { FakeProtocol, FakeUpstreamOptions } from './options.js';
export { startRecordingServer, type RecordingServer } from './recording.js';
export type { ReceivedRequest } from './requests.js';
export type { FakeStats } from './stats.js';
export { startFakeUpstream, type FakeUpstream } from './upstream.js';
export { defaultUsers, type FakeUser } from './users.js';
