import type { MqttConfig } from '../config/schema.js';
import { VERSION } from '../version.js';
import type { Topics } from './topics.js';

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

interface Sensor {
  id: string;
  name: string;
  template: string;
  unit?: string;
  deviceClass?: string;
  stateClass?: 'measurement' | 'total_increasing';
  icon?: string;
}

/**
 * Home Assistant MQTT discovery: one retained config message per entity under
 * <discovery_prefix>/<component>/<node>/<object>/config, all on one device, all following our status topic.
 */
export function discoveryMessages(
  cfg: MqttConfig,
  topics: Topics,
  o: { boards: number[]; pools: number[] },
): DiscoveryMessage[] {
  const node = topics.node;
  const device = {
    identifiers: [`asicd_${node}`],
    name: node,
    manufacturer: 'Maijie',
    model: 'L7',
    sw_version: `asicd ${VERSION}`,
  };
  const common = (id: string, name: string) => ({
    name,
    unique_id: `asicd_${node}_${id}`,
    object_id: `${node}_${id}`,
    availability_topic: topics.status,
    payload_available: 'online',
    payload_not_available: 'offline',
    device,
  });
  const sensors: (Sensor & { topic: string })[] = [
    {
      id: 'hashrate',
      name: 'Hash rate',
      template: '{{ (value_json.hashrateHs / 1e12) | round(3) }}',
      unit: 'TH/s',
      stateClass: 'measurement',
      icon: 'mdi:pickaxe',
      topic: topics.summary,
    },
    {
      id: 'power',
      name: 'Power',
      template: '{{ value_json.powerW }}',
      unit: 'W',
      deviceClass: 'power',
      stateClass: 'measurement',
      topic: topics.summary,
    },
    {
      id: 'efficiency',
      name: 'Efficiency',
      template: '{{ value_json.jPerTh }}',
      unit: 'J/TH',
      stateClass: 'measurement',
      topic: topics.summary,
    },
    {
      id: 'max_chip_temp',
      name: 'Hottest chip',
      template: '{{ value_json.maxChipC }}',
      unit: '°C',
      deviceClass: 'temperature',
      stateClass: 'measurement',
      topic: topics.summary,
    },
    {
      id: 'accepted',
      name: 'Accepted shares',
      template: '{{ value_json.accepted }}',
      stateClass: 'total_increasing',
      topic: topics.summary,
    },
    {
      id: 'rejected',
      name: 'Rejected shares',
      template: '{{ value_json.rejected }}',
      stateClass: 'total_increasing',
      topic: topics.summary,
    },
    {
      id: 'alerts',
      name: 'Alerts firing',
      template: '{{ value_json.alertsFiring }}',
      icon: 'mdi:alert',
      topic: topics.summary,
    },
    ...o.boards.map((b) => ({
      id: `board${b}_temp`,
      name: `Board ${b} hottest chip`,
      template: '{{ value_json.maxChipC }}',
      unit: '°C',
      deviceClass: 'temperature',
      stateClass: 'measurement' as const,
      topic: topics.board(b),
    })),
  ];
  const out: DiscoveryMessage[] = sensors.map((s) => ({
    topic: `${cfg.discovery_prefix}/sensor/${node}/${s.id}/config`,
    payload: {
      ...common(s.id, s.name),
      state_topic: s.topic,
      value_template: s.template,
      ...(s.unit ? { unit_of_measurement: s.unit } : {}),
      ...(s.deviceClass ? { device_class: s.deviceClass } : {}),
      ...(s.stateClass ? { state_class: s.stateClass } : {}),
      ...(s.icon ? { icon: s.icon } : {}),
    },
  }));
  out.push({
    topic: `${cfg.discovery_prefix}/switch/${node}/mining/config`,
    payload: {
      ...common('mining', 'Mining'),
      state_topic: topics.summary,
      value_template: "{{ 'ON' if value_json.mining else 'OFF' }}",
      command_topic: topics.command('mining'),
      payload_on: 'ON',
      payload_off: 'OFF',
      icon: 'mdi:pickaxe',
    },
  });
  out.push({
    topic: `${cfg.discovery_prefix}/select/${node}/pool/config`,
    payload: {
      ...common('pool', 'Pool'),
      state_topic: topics.summary,
      value_template: '{{ value_json.pool }}',
      command_topic: topics.command('switch_pool'),
      options: o.pools.map(String),
    },
  });
  return out;
}
