// The v1 dialect: every /v1 route, registered on the shared route table, over the v1 use cases
// (services/legacy-*.ts), which share repositories, policy and the upload pipeline with v2.
import type { FastifyRequest } from 'fastify';
import type { LegacyImageService } from '../../services/legacy-images.ts';
import type { LegacyMemberService } from '../../services/legacy-members.ts';
import type { RouteTable } from '../routes.ts';
import type { FormatLists } from './headers.ts';
import { imageRoutes } from './images.ts';
import { memberRoutes } from './members.ts';

export interface V1Options {
  images: LegacyImageService;
  members: LegacyMemberService;
  formats: FormatLists;
  /** image_size_cap: a body whose declared size is larger is refused before anything is reserved. */
  imageSizeCap: number;
  baseUrl: (request: FastifyRequest) => string;
}

export function v1Router(options: V1Options): (routes: RouteTable) => void {
  return (routes) => {
    imageRoutes(routes, options);
    memberRoutes(routes, options);
  };
}
