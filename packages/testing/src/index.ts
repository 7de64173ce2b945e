export { FAKE_RESOURCES, fakeCredentials, fakeUpstreamPreset } from './client.js';
export { createManualClock, type ManualClock } from './clock.js';
export type { FaultControl, FaultEndpoint, FaultKind, FaultOptions } from './faults.js';
export type { FakeProtocol, FakeUpstreamOptions } from './options.js';
export { type RecordingServer, startRecordingServer } from './recording.js';
export type { ReceivedRequest } from './requests.js';
export type { FakeStats } from './stats.js';
export { type FakeUpstream, startFakeUpstream } from './upstream.js';
export { defaultUsers, type FakeUser } from './users.js';
